# Where the demo student's decoding time goes: 64 of the 200 test requests answered in batches of 32, with the grounded
# grammar it was saved with and without a grammar, and the grammar's share (cProfile of the grounded run):
# python decode_time.py runs/fhir-demo/student
import cProfile, pstats, sys, time
from stepdistill_nb.fhir_data import generate_fhir_dataset
from stepdistill_nb.fhir_eval import population_vocab, synthea_population
from stepdistill_nb.training import Student
test = generate_fhir_dataset(n_train=3350, n_test=200, seed=0, population=population_vocab(synthea_population(10, 42)))['test']
st = Student.load(sys.argv[1]); xs = test['input'][:64]
st.predict(xs[:2])
for name, kw in (('no grammar', dict(grammar=False)), ('grounded grammar', {})):
    t0 = time.time(); st.predict(xs, **kw); print(f'{name}: {time.time() - t0:.1f} s for {len(xs)}', flush=True)
pr = cProfile.Profile(); pr.enable(); st.predict(test['input'][64:128]); pr.disable()
pstats.Stats(pr).sort_stats('cumulative').print_stats(35)
