# The hand-typed requests where two students differ or both fail: python hand_cmp.py STUDENT_A STUDENT_B
import sys
from stepdistill_nb.fhir_study import handwritten_requests
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.training import Student
hand = handwritten_requests()
a, b = Student.load(sys.argv[1]), Student.load(sys.argv[2])
pa, pb = [p['label'] for p in a.predict(hand['input'])], [p['label'] for p in b.predict(hand['input'])]
for x, g, u, v in zip(hand['input'], hand['label'], pa, pb):
    ea, eb = queries_equivalent(u, g), queries_equivalent(v, g)
    if ea != eb or not ea: print(int(ea), int(eb), '|', x, '\n  G', g, '\n  A', u, '\n  B', v)
