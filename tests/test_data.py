"Loader behaviour on malformed files, on every input format, and on real records of the paper's release."
import json, subprocess, sys, warnings
import pytest
from pathlib import Path
from stepdistill_nb.data import DataError, load_examples, save_examples, FIELDS
from stepdistill_nb.dss import load_dss, parse_continuation
from stepdistill_nb.metrics import labels_equal

CLI = str(Path(sys.executable).parent/'stepdistill')

MALFORMED = [  # (file name, content, expected fragment of the error)
    ('empty.jsonl', '', 'empty file'),
    ('blank.json', '  \n\n', 'empty file'),
    ('truncated.jsonl', '{"input": "a"}\n{"input": "b", "label":', 'truncated.jsonl, line 2: truncated JSON record'),
    ('broken.json', '{"input": "a"}\n\n{"input" "b"}\n', "broken.json, line 3: invalid JSON"),
    ('noinput.jsonl', '{"input": "a"}\n{"label": "b"}\n', "noinput.jsonl, line 2, field 'input': missing"),
    ('blankinput.jsonl', '{"input": "   "}\n', "field 'input': missing required field (or it is empty)"),
    ('badtype.jsonl', '{"input": "a", "rationale": {"x": 1}}\n', "field 'rationale': expected a string, got dict"),
    ('inputnum.jsonl', '{"input": 3}\n', "field 'input': expected a string, got int"),
    ('dupid.jsonl', '{"id": "q", "input": "a"}\n{"id": "q", "input": "b"}\n', "line 2, field 'id': duplicate id 'q' (first at line 1)"),
    ('notobj.jsonl', '{"input": "a"}\n[1, 2]\n', 'line 2: expected a JSON object, got list'),
    ('array.json', '[{"input": "a"},\n {"input": "b"}', 'truncated JSON array'),
    ('cells.csv', 'input,label\na,1\nb,2,3\n', 'cells.csv, line 3: row has 3 cells'),
    ("nocol.csv", "question,label\nwhat,1\n", "field 'input': missing"),
]

@pytest.mark.parametrize('name,content,expected', MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_name_file_line_field(tmp_path, name, content, expected):
    p = tmp_path/name
    p.write_text(content)
    with pytest.raises(DataError) as e: load_examples(p)
    assert expected in str(e.value)
    assert name in str(e.value)

def test_unknown_columns_warn_and_keep_every_record(tmp_path):
    p = tmp_path/'extra.jsonl'
    p.write_text('{"input": "a", "premise": "p"}\n{"input": "b"}\n')
    with pytest.warns(UserWarning, match='premise'): ds = load_examples(p)
    assert len(ds) == 2 and ds.column_names == list(FIELDS)

@pytest.mark.parametrize('fmt', ['jsonl', 'array', 'concatenated', 'csv'])
def test_every_format_round_trips(tmp_path, fmt):
    recs = [{'id': 'a', 'input': 'x, "quoted"\nline', 'label': '1'}, {'id': 'b', 'input': 'y', 'label': '2', 'domain': 'Patient'}]
    p = tmp_path/f'd.{"csv" if fmt == "csv" else "json"}'
    if fmt == 'jsonl': p.write_text(''.join(json.dumps(r) + '\n' for r in recs))
    elif fmt == 'array': p.write_text(json.dumps(recs, indent=2))
    elif fmt == 'concatenated': p.write_text(''.join(json.dumps(r, indent=4) for r in recs))
    else:
        import csv
        with open(p, 'w', newline='') as f:
            w = csv.DictWriter(f, ['id', 'input', 'label', 'domain']); w.writeheader(); w.writerows(recs)
    ds = load_examples(p)
    assert ds['id'] == ['a', 'b'] and ds['input'][0] == recs[0]['input']
    assert ds['domain'] == [None, 'Patient']
    out = save_examples(ds, tmp_path/'out.jsonl')
    assert load_examples(out).to_list() == ds.to_list()

def test_field_mapping(tmp_path):
    p = tmp_path/'qa.jsonl'
    p.write_text('{"question": "2+2?", "answer": 4, "explanation": "two and two"}\n')
    ds = load_examples(p, mapping={'question': 'input', 'answer': 'label', 'explanation': 'rationale'})
    assert ds[0]['input'] == '2+2?' and ds[0]['label'] == '4' and ds[0]['rationale'] == 'two and two'

def test_saved_dataset_dir_and_dataset_dict(tmp_path):
    import datasets
    dd = datasets.DatasetDict({'train': datasets.Dataset.from_list([{'input': 'a'}]), 'test': datasets.Dataset.from_list([{'input': 'b'}])})
    dd.save_to_disk(str(tmp_path/'dd'))
    assert load_examples(tmp_path/'dd', split='test')['input'] == ['b']
    with pytest.raises(DataError, match='needs split='): load_examples(tmp_path/'dd')

# --- real records of the release -------------------------------------------------------------------

def test_svamp_real_records(dss_root):
    ds = load_dss('svamp', dss_root, 'test')
    r = ds[0]
    assert r['input'].startswith('Paige was helping her mom plant flowers') and '\nHow many seeds did they plant?' in r['input']
    assert r['label'] == '( 10.0 * 45.0 )' and r['llm_label'] == '(10 * 45)'
    assert r['rationale'].endswith('10 * 45 is 450.') and 'Q:' not in r['rationale']
    assert labels_equal(r['llm_label'], r['label'], 'svamp')
    assert len(ds) == 200 and sum(x is not None for x in ds['parse_error']) == 7

def test_svamp_validation_split_is_the_papers(dss_root):
    import datasets
    tr, va = load_dss('svamp', dss_root, 'train'), load_dss('svamp', dss_root, 'valid')
    assert (len(tr), len(va)) == (720, 80)
    gold = [json.loads(l) for l in open(dss_root/'svamp'/'svamp_train.json')]
    ref = datasets.Dataset.from_list(gold).train_test_split(test_size=0.1, seed=0)
    assert va['input'] == ref['test']['input'] and tr['input'] == ref['train']['input']

def test_cqa_input_format_and_labels(dss_root):
    r = load_dss('cqa', dss_root, 'test')[0]
    assert r['input'] == ('A beaver is know for building prowess, their supplies come from where?\nAnswer Choices:\n'
                          '(a) british columbia\n(b) body of water\n(c) wooded area\n(d) pay debts\n(e) zoo')
    assert r['label'] == 'wooded area' and r['llm_label'] == 'wooded area' and r['id'] == '080ef6941410139d6869e78122bc741e'

def test_anli_input_labels_and_missing_train(dss_root):
    ds = load_dss('anli1', dss_root, 'test')
    r = ds[0]
    assert r['input'].startswith('Ernest Jones is a British jeweller') and '</s>The first Ernest Jones store' in r['input']
    assert r['label'] == 'entailment' and r['llm_label'] == 'contradiction'
    assert set(ds['label']) == {'entailment', 'neutral', 'contradiction'}
    with pytest.raises(DataError, match='only the PaLM outputs'): load_dss('anli1', dss_root, 'train')

def test_parse_failures_are_kept_with_raw_text(dss_root):
    ds = load_dss('svamp', dss_root, 'train')
    bad = [r for r in ds if r['parse_error']]
    assert bad and all(r['teacher_raw'] for r in bad)
    assert len(ds) == 720

@pytest.mark.parametrize('name,n', [('svamp', 200), ('cqa', 1221), ('anli1', 1000)])
def test_inspect_json_reports_teacher_accuracy(dss_root, name, n):
    out = subprocess.run([CLI, 'inspect', name, '--root', str(dss_root), '--split', 'test', '--json'],
                         capture_output=True, text=True, check=True).stdout
    d = json.loads(out.strip().splitlines()[-1])
    assert d['n'] == n and {'rationale_coverage', 'parse_failures', 'teacher_label_accuracy'} <= d.keys()
    ds = load_dss(name, dss_root, 'test')
    metric = 'svamp' if name == 'svamp' else 'exact'
    expected = sum(labels_equal(p, g, metric) for p, g in zip(ds['llm_label'], ds['label'])) / len(ds)
    assert d['teacher_label_accuracy'] == round(expected, 4)

def test_inspect_any_file_and_clear_error(tmp_path):
    p = tmp_path/'d.jsonl'
    p.write_text('{"input": "a", "label": "x", "llm_label": "x", "rationale": "because"}\n')
    r = subprocess.run([CLI, 'inspect', str(p), '--json'], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout.splitlines()[-1])['teacher_label_accuracy'] == 1.0
    (tmp_path/'bad.jsonl').write_text('{"label": "x"}\n')
    r = subprocess.run([CLI, 'inspect', str(tmp_path/'bad.jsonl')], capture_output=True, text=True)
    assert r.returncode != 0 and "bad.jsonl, line 1, field 'input'" in r.stderr and 'Traceback' not in r.stderr
