# The demo's training data (3,200 requests + the glossary twice, 50 validation requests, as experiments/fhir_case_study.ipynb
# builds it with make demo's parameters), but with the blood-pressure panel drawn K times as often by the code-only
# Observation slot (fhir_data.PANELS repeated K times while generating; the glossary is built as before), to see whether a
# student taught the panel as often as the other vital signs still answers "blood pressure" with the diastolic code:
# python panel_data.py K OUT (from the repository root). Only the training and validation splits are written.
import sys
import datasets
import stepdistill_nb.fhir_data as fd
from stepdistill_nb.fhir_eval import population_vocab, synthea_population
k, out = int(sys.argv[1]), sys.argv[2]
gloss = fd.to_dataset(fd.glossary_records(0, 2))          # before the patch: the glossary as the demo has it
fd.PANELS = fd.PANELS * k                                   # obs_code reads VITALS + PANELS when it runs
n, n_valid = 3200, 50
dd = fd.generate_fhir_dataset(n_train=n + 3 * n_valid, n_test=50, seed=0, population=population_vocab(synthea_population(10, 42)))
pool, extra = dd['train'].select(range(n)), dd['train'].select(range(n, len(dd['train'])))
vidx = list(range(min(n_valid, len(extra))))
for d in sorted(set(pool['domain']) - set(extra.select(vidx)['domain'])):
    vidx += [i for i, x in enumerate(extra['domain']) if x == d][:1]
train = datasets.concatenate_datasets([pool, gloss])
datasets.DatasetDict({'train': train, 'valid': extra.select(vidx)}).save_to_disk(out)
count = lambda code: sum(code in x for x in train['label'])
print(out, len(train), 'training rows:', {c: count(c) for c in ('85354-9', '8462-4', '8480-6')})
