# The demo student's decoding of 64 test requests (grounded grammar, batches of 32): float32 weights against bf16 weights
# and float32 weights under bf16 autocast, time and answers that differ from float32's:
# python decode_bf16.py runs/fhir-demo/student
import sys, time, torch
from stepdistill_nb.fhir_data import generate_fhir_dataset
from stepdistill_nb.fhir_eval import population_vocab, synthea_population
from stepdistill_nb.training import Student
print(torch.backends.cpu.get_cpu_capability())
test = generate_fhir_dataset(n_train=3350, n_test=200, seed=0, population=population_vocab(synthea_population(10, 42)))['test']
xs = test['input'][:64]
ref = None
for name in ('float32', 'bf16 weights', 'float32 + bf16 autocast'):
    st = Student.load(sys.argv[1], 'cpu', bf16=name == 'bf16 weights'); st.predict(xs[:2])
    t0 = time.time()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled='autocast' in name): p = [r['label'] for r in st.predict(xs)]
    s = time.time() - t0; ref = ref or p
    print(f'{name}: {s:.1f} s for {len(xs)}, {sum(a != b for a, b in zip(p, ref))} answers differ from float32', flush=True)
