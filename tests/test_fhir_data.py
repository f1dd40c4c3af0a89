"The FHIR request generator: valid gold queries, seeded, and a test split that held-out phrasings and combinations make harder."
import collections
import pytest
from stepdistill_nb.data import FIELDS
from stepdistill_nb.fhir import CASE_RESOURCES, parse_query, validate_query
from stepdistill_nb.fhir_data import generate_fhir_dataset, generate_fhir_records, held_pairs, held_templates

@pytest.fixture(scope='module')
def splits():
    tr = generate_fhir_records(4000, 'train', seed=0)
    return tr, generate_fhir_records(1500, 'test', seed=0, exclude={r['input'] for r in tr})

def test_every_gold_query_is_valid(splits):
    for r in splits[0] + splits[1]: assert validate_query(r['label']) == [], r

def test_no_held_out_phrasing_or_combination_in_train(splits):
    tr, te = splits
    assert held_templates(tr) == set() and held_pairs(tr) == set()
    train_templates = {t for r in tr for t in r['templates']}
    assert held_templates(te) and not held_templates(te) & train_templates
    assert all(held_templates([r]) for r in te), 'every test request uses a held-out phrasing'
    assert sum(bool(held_pairs([r])) for r in te) > 0.9 * len(te)

def test_test_split_is_longer_and_disjoint(splits):
    tr, te = splits
    n = lambda rs: sum(len([p for p in parse_query(r['label']).params if not p.name.startswith('_')]) for r in rs) / len(rs)
    assert n(te) > n(tr) + 0.5
    assert not {r['input'] for r in tr} & {r['input'] for r in te}

def test_coverage_of_resources_types_modifiers_prefixes(splits):
    recs = splits[0] + splits[1]
    assert collections.Counter(r['domain'] for r in recs).keys() == set(CASE_RESOURCES)
    params = [p for r in recs for p in parse_query(r['label']).params]
    mods = {p.modifier for p in params}
    assert {'exact', 'contains', 'missing', 'text', 'not'} <= mods
    prefixes = {v[:2] for p in params for v in p.values if v[:2] in ('gt', 'lt', 'ge', 'le')}
    assert prefixes == {'gt', 'lt', 'ge', 'le'}
    assert {'_count', '_sort', '_include', '_summary'} <= {p.name for p in params}
    labels = ' '.join(r['label'] for r in recs)
    for system in ('http://loinc.org|', 'http://snomed.info/sct|', 'http://hl7.org/fhir/sid/cvx|', 'http://unitsofmeasure.org|'):
        assert system in labels

def test_oracle_rationale_follows_the_structure(splits):
    for r in splits[0][:500]:
        assert r['rationale'].startswith('The request asks for') and f"so the resource is {r['domain']}." in r['rationale']
        assert r['rationale'].endswith(f"So the query is {r['label']}")

def test_dataset_schema_and_seed():
    a, b = generate_fhir_dataset(50, 20, seed=3), generate_fhir_dataset(50, 20, seed=3)
    assert a['train'].column_names == list(FIELDS) and a['test'].num_rows == 20
    assert a['train']['input'] == b['train']['input'] and a['test']['label'] == b['test']['label']
    assert generate_fhir_dataset(50, 20, seed=4)['train']['input'] != a['train']['input']
    assert all(r['rationale'] and r['domain'] and r['id'].startswith('fhir-') for r in a['train'])

def test_bad_split_is_an_error():
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"): generate_fhir_records(2, 'dev')


def test_empty_split_keeps_the_schema():
    dd = generate_fhir_dataset(n_train=0, n_test=3, seed=1)
    assert len(dd['train']) == 0 and len(dd['test']) == 3
    assert dd['train'].column_names == dd['test'].column_names


def test_population_values_with_a_single_city():
    "The test split uses only the population's values, and a pool of one value (one city) serves it; training mixes them with others."
    pop = dict(patient=['p-1', 'p-2', 'p-3', 'p-4'], given=['Ana', 'Bo', 'Cy', 'Di'], family=['Ek', 'Fo', 'Gu', 'Ha'], city=['Boston'])
    def values(split, names, n=300):
        recs = generate_fhir_records(n, split, 3, population=pop)
        return [p.values[0].split('/')[-1] for r in recs for p in parse_query(r['label']).params if p.name in names]
    assert set(values('test', ('address-city',))) == {'Boston'}
    test_pids = values('test', ('patient', 'subject'))
    assert test_pids and set(test_pids) <= set(pop['patient'])
    # training: the population's values only part of the time, so the student learns to copy values, not a handful by heart
    cities, pids = values('train', ('address-city',), 1000), values('train', ('patient', 'subject'))   # 300 training requests hold only ~11 cities
    assert 'Boston' in cities and len(set(cities)) > 3
    assert 0.1 < sum(p in pop['patient'] for p in pids) / len(pids) < 0.4
