# The log-probability a student gives each code after 'Observation?code=http://loinc.org|' for the README's blood-pressure request,
# summed over the code's tokens and the '&' after it: python bp_margin.py STUDENT...
import sys, torch
from stepdistill_nb.training import Student
req = 'the 5 most recent blood pressure observations of patient 42'
for d in sys.argv[1:]:
    st = Student.load(d); m, tok = st.model, st.tok
    enc = lambda s: tok(s, add_special_tokens=False)['input_ids']
    p = enc('predict: ' + req) + enc('\n'); head = 'Observation?code=http://loinc.org|'
    out = {}
    for code in ('85354-9', '8462-4', '8480-6'):
        t0, t = enc(head), enc(head + code + '&')
        assert t[:len(t0)] == t0
        full = p + t
        with torch.no_grad(): lp = torch.log_softmax(m(torch.tensor([full])).logits[0].float(), -1)
        out[code] = round(sum(lp[i - 1, full[i]].item() for i in range(len(p) + len(t0), len(full))), 3)
    print(d, out, 'panel - diastolic:', round(out['85354-9'] - out['8462-4'], 3), flush=True)
