# Rebuild the report's training data for standard-N (runs/fhir-report/data/standard-N) on a machine where runs/ was
# lost, as experiments/fhir_case_study.ipynb builds it with the report's parameters (seed 0, 50 validation and 200
# test requests, glossary 2, the Synthea population of 10 patients), then check that its test split is the one the
# committed predictions were made on: python make_data.py [N] (from the repository root; default 6400).
import json, sys
from pathlib import Path
import datasets
from stepdistill_nb.fhir_data import generate_fhir_dataset, glossary_records, to_dataset
from stepdistill_nb.fhir_eval import population_vocab, synthea_population
n, sizes, seed, n_valid, n_test = int(sys.argv[1]) if len(sys.argv) > 1 else 6400, [1600, 6400, 12800], 0, 50, 200
dd = generate_fhir_dataset(n_train=max(sizes) + 3 * n_valid, n_test=n_test, seed=seed,
                           population=population_vocab(synthea_population(10, 42)))
pool, test, extra = dd['train'].select(range(max(sizes))), dd['test'], dd['train'].select(range(max(sizes), len(dd['train'])))
vidx = list(range(min(n_valid, len(extra))))
for d in sorted(set(pool['domain']) - set(extra.select(vidx)['domain'])):
    vidx += [i for i, x in enumerate(extra['domain']) if x == d][:1]
train = datasets.concatenate_datasets([pool.select(range(n)), to_dataset(glossary_records(seed, 2))])
done = json.load(open(f'reports/fhir_case_study/students/standard-{n}/test_predictions.json'))
if test['input'] != done['inputs']: sys.exit('the rebuilt test split differs from the committed one: not the report data')
out = Path(f'runs/fhir-report/data/standard-{n}')
datasets.DatasetDict({'train': train, 'valid': extra.select(vidx), 'test': test}).save_to_disk(str(out))
print(out, len(train), 'training,', len(vidx), 'validation,', len(test), 'test requests (test split checked)')
