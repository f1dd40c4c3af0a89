"Every experiment notebook runs through `stepdistill experiment` with tiny parameters and leaves a complete run folder."
import json, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent/'stepdistill')
DSS = (REPO/'..'/'shared'/'data'/'dss').resolve()

# tiny parameters per experiment: seconds, not minutes; every experiment in experiments/ must be listed here
TINY = {
    'paper_reproduction': {'datasets_': '[svamp, anli1]', 'sizes': '[8]', 'max_steps': '1', 'n_valid': '4', 'n_test': '6', 'batch_size': '4', 'teacher': 'smollm2', 'teacher_max_tokens': '16',
                           'methods': "['standard', 'sbs-teacher', 'sbs-zs']",
                           'student': 'tiny-llama', 'max_rationale_len': '16'},
    'rationale_coverage': {'coverages': '[0.0, 0.5]', 'n_train': '8', 'max_steps': '1', 'n_valid': '4', 'n_test': '6', 'batch_size': '4',
                           'student': 'tiny-llama', 'max_rationale_len': '16'},
    'prompting_cost': {'tasks': '[svamp]', 'n': '2', 'teacher': 'smollm2', 'max_new_tokens': '16'},
    'ddk_vs_uniform': {'n_common': '2', 'n_rare': '1', 'n_reference': '1', 'n_valid': '1', 'n_test': '1', 'max_steps': '2', 'ddk_interval': '1',
                       'batch_size': '4', 'ddk_eval_per_domain': '1', 'student': 'tiny-llama', 'kd_gamma': '0.1'},
    'fhir_case_study': {'sizes': '[8]', 'n_valid': '10', 'n_test': '4', 'max_steps': '2', 'batch_size': '4', 'teacher': 'smollm2',
                        'teacher_train_n': '2', 'teacher_test_n': '2', 'teacher_max_tokens': '32', 'teacher_free': 'true', 'population': '2', 'latency_n': '2', 'lighter': 'true', 'samples': '2', 'max_rationale_len': '32',
                        'ddk_interval': '1', 'ddk_teacher': 'tiny-llama', 'student': 'tiny-llama',
                        'phrasing_keys': '3', 'phrasing_samples': '1', 'attention_dropout': '0.1',
                        'methods': "['standard', 'sbs-teacher', 'sbs-oracle+ddk', 'standard+phrasings', 'standard+seed1', 'standard+soup2']"},
}
NEEDS_DSS = {'paper_reproduction', 'rationale_coverage', 'prompting_cost'}

def test_every_experiment_has_tiny_parameters():
    names = sorted(p.stem for p in (REPO/'experiments').glob('*.ipynb'))
    assert names and sorted(TINY) == names

def test_list_shows_experiments_and_parameters():
    out = subprocess.run([CLI, 'experiment', '--list'], capture_output=True, text=True, check=True, cwd=REPO).stdout
    for name in TINY: assert f'{name}:' in out
    assert 'max_steps=' in out

def test_unknown_parameter_is_refused():
    r = subprocess.run([CLI, 'experiment', 'paper_reproduction', '-p', 'max_stepz', '3'], capture_output=True, text=True, cwd=REPO)
    assert r.returncode != 0 and "unknown parameter 'max_stepz'" in r.stderr and 'Traceback' not in r.stderr

@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(TINY))
def test_experiment_runs_with_tiny_parameters(name, tmp_path):
    if name in NEEDS_DSS and not DSS.exists(): pytest.skip(f'{DSS} is absent: {name} needs the released data')
    args = [a for k, v in TINY[name].items() for a in ('-p', k, v)]
    out = tmp_path/name
    r = subprocess.run([CLI, 'experiment', name, *args, '--out', str(out)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads((out/'run.json').read_text())
    assert info['status'] == 'ok' and info['experiment'] == name
    metrics = json.loads((out/'metrics.json').read_text())
    assert metrics
    if name == 'fhir_case_study':   # -p lighter true: the best student also timed and scored with int8 and bf16 weights and through llama.cpp
        assert (metrics['average'], metrics['freeze_layers']) == ('none', 0)   # the run's settings are in its record
        # attention dropout (-p attention_dropout) reaches the training of every causal student, and is recorded with it
        assert metrics['attention_dropout'] == 0.1 and json.loads((out/'students'/'standard-8'/'stepdistill.json').read_text())['attention_dropout'] == 0.1
        # standard+phrasings: trained on a pool that also uses the teacher's phrasings (3 keys asked here), on the same test split
        assert {r['method'] for r in metrics['results']} == {'standard', 'sbs-teacher', 'sbs-oracle+ddk', 'standard+phrasings', 'standard+seed1', 'standard+soup2'}
        comparisons = [v['comparison'] for v in metrics['verdict']]
        assert 'standard+phrasings (n=8) vs standard (n=8)' in comparisons and 'standard+seed1 (n=8) vs standard (n=8)' in comparisons
        # every line the teacher wrote is counted, kept or dropped with its reason
        phr = metrics['teacher_phrasings']
        assert set(phr) <= {'kept', 'placeholders', 'held_out', 'repeats', 'too_long', 'errors'} and sum(phr.values()) > 0, phr
        # +seed1: the same data, trained with training seed 1 (standard: the report's seed, 0)
        import torch   # only here: reading the trainer's saved arguments
        seeds = {m: torch.load(out/'students'/f'{m}-8'/'training_args.bin', weights_only=False).seed for m in ('standard', 'standard+seed1')}
        assert seeds == {'standard': 0, 'standard+seed1': 1}
        # +soup2: the mean of the weights of standard and standard+seed1, its own student, scored like the others
        from safetensors.torch import load_file
        a, b, m = (load_file(str(out/'students'/f'{s}-8'/'model.safetensors')) for s in ('standard', 'standard+seed1', 'standard+soup2'))
        assert all(torch.allclose(m[k], (a[k] + b[k]) / 2, atol=1e-6) for k in a)
        soup = next(r for r in metrics['results'] if r['method'] == 'standard+soup2')
        runs = {r['method']: r for r in metrics['results']}
        assert soup['train_s'] >= runs['standard']['train_s'] + runs['standard+seed1']['train_s'] and soup['valid_equivalent'] is not None
        assert soup['steps'] == runs['standard']['steps'] + runs['standard+seed1']['steps']
        assert 'standard+soup2 (n=8) vs standard (n=8)' in comparisons
        # -p samples 2: as trained and through llama.cpp, also the likeliest of greedy + 2 draws, each against its greedy twin
        lik = 'likeliest of greedy + 2 samples'
        assert [c['model'].split(', ')[-1] for c in metrics['cost']][1:6] == [lik, 'int8 weights', 'bf16 weights', 'llama.cpp q8_0 GGUF', lik]
        assert all(0 <= c['equivalent'] <= 1 and c['n_test'] == 4 and c['median_s'] > 0 for c in metrics['cost'][:6])
        dec = metrics['decoding']
        assert [d['comparison'].endswith(', greedy') and lik in d['comparison'] and d['n'] == 4 for d in dec] == [True, True], dec
        assert [d['a_right'] / 4 for d in dec] == [metrics['cost'][i]['equivalent'] for i in (1, 5)]
        assert all(d['a_ci95'][0] <= d['a_right'] / 4 <= d['a_ci95'][1] for d in dec)
    assert list(out.glob('*.png')), 'the experiment saved no figure'
    report = json.loads((out/'report.ipynb').read_text())
    assert any(o.get('output_type') == 'display_data' and 'image/png' in o.get('data', {}) for c in report['cells'] for o in c.get('outputs', []))


@pytest.mark.slow
def test_fhir_case_study_resumes_from_records_of_another_machine(tmp_path):
    "`-p records`: finished students' records are reused without their weights; the best one is trained again for its weights."
    tiny = {**TINY['fhir_case_study'], 'methods': "['standard', 'sbs-oracle']", 'teacher': "''", 'execution': 'false'}
    def run(out, **extra):
        args = [a for k, v in {**tiny, **extra}.items() for a in ('-p', k, v)]
        r = subprocess.run([CLI, 'experiment', 'fhir_case_study', *args, '--out', str(out)], capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 0, r.stderr[-3000:]
        return json.loads((out/'metrics.json').read_text()), json.loads((out/'report.ipynb').read_text())
    first, _ = run(tmp_path/'a')
    names = sorted(p.name for p in (tmp_path/'a'/'students').iterdir())
    assert names == ['sbs-oracle-8', 'standard-8']
    for name in names:   # the requests with their answers: the same ids can hold other requests (another population)
        assert sorted(json.loads((tmp_path/'a'/'students'/name/'test_predictions.json').read_text())) == ['ids', 'inputs', 'preds']
    # a second size where only standard fine-tuning is run (-p skip): the finished students come from their records
    second, report = run(tmp_path/'b', records=str(tmp_path/'a'/'students'), sizes='[4, 8]', skip="['sbs-oracle-4']")
    best = f"{second['best']['method']}-{second['best']['n_train']}"
    other = next(n for n in names if n != best)
    text = ''.join(''.join(o.get('text', '')) for c in report['cells'] for o in c.get('outputs', []))
    assert f'{best}: the best student; its weights are not on this machine: trained again' in text
    assert f"{other}: finished by an earlier run; its records reused, without its weights ({tmp_path/'a'/'students'/other})" in text
    assert (tmp_path/'b'/'students'/best/'model.safetensors').exists()
    assert not list((tmp_path/'b'/'students'/other).glob('*.safetensors'))   # its records only
    assert json.loads((tmp_path/'b'/'students'/other/'test_predictions.json').read_text()) == \
           json.loads((tmp_path/'a'/'students'/other/'test_predictions.json').read_text())
    rows = lambda m: {f"{r['method']}-{r['n_train']}": r for r in m['results']}
    assert rows(second)[other]['equivalent'] == rows(first)[other]['equivalent']
    assert sorted(rows(second)) == ['sbs-oracle-8', 'standard-4', 'standard-8']
    assert [v['comparison'] for v in second['verdict']] == ['sbs-oracle (n=8) vs standard (n=8)']
    # a soup of students whose records only are here: the runs it averages are trained (again) for their weights
    third, report = run(tmp_path/'s', records=str(tmp_path/'a'/'students'), methods="['standard', 'standard+soup2']")
    text = ''.join(''.join(o.get('text', '')) for c in report['cells'] for o in c.get('outputs', []))
    assert 'standard-8: averaged into a soup; its weights are not on this machine: trained again' in text
    assert 'standard+soup2-8: the mean of the weights of standard-8, standard+seed1-8' in text
    assert sorted(rows(third)) == ['standard+seed1-8', 'standard+soup2-8', 'standard-8']
    # a skipped student that is not one of -p methods × -p sizes is refused, naming the parameter
    args = [a for k, v in {**tiny, 'skip': "['sbs-teacher-8']"}.items() for a in ('-p', k, v)]
    r = subprocess.run([CLI, 'experiment', 'fhir_case_study', *args, '--out', str(tmp_path/'d')], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert "-p skip ['sbs-teacher-8']: each must name a student METHOD-N of -p methods ['standard', 'sbs-oracle'] and -p sizes [8]" in r.stderr
    # a method name that is not one is refused, naming the parameter (not trained as some other method)
    args = [a for k, v in {**tiny, 'methods': "['standard', 'sbs-orcale']"}.items() for a in ('-p', k, v)]
    r = subprocess.run([CLI, 'experiment', 'fhir_case_study', *args, '--out', str(tmp_path/'e')], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert "-p methods: 'sbs-orcale' is not a method" in r.stderr
    args = [a for k, v in {**tiny, 'methods': "['standard+soup1']"}.items() for a in ('-p', k, v)]
    r = subprocess.run([CLI, 'experiment', 'fhir_case_study', *args, '--out', str(tmp_path/'f')], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and "-p methods: 'standard+soup1': a soup averages two runs or more" in r.stderr, r.stderr[-3000:]
    # records of other test requests (here another seed) are refused with a clear error, not scored against the wrong golds
    args = [a for k, v in {**tiny, 'seed': '1', 'records': str(tmp_path/'a'/'students')}.items() for a in ('-p', k, v)]
    r = subprocess.run([CLI, 'experiment', 'fhir_case_study', *args, '--out', str(tmp_path/'c')], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert 'its records answer other test requests than this run asks' in r.stderr and 'run again without -p records' in r.stderr


# ---------------------------------------------------------------- a notebook that fails
@pytest.fixture
def failing_experiment(tmp_path, monkeypatch):
    "experiments/boom.ipynb in a temporary folder: with `-p n 0` its third cell divides by zero."
    import nbformat
    d = tmp_path/'exps'; d.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('n = 3\nout_dir = "."', metadata={'tags': ['parameters']}),
        nbformat.v4.new_code_cell('squares = [i * i for i in range(n)]'),
        nbformat.v4.new_code_cell('mean = sum(squares) / len(squares)')])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, d/'boom.ipynb')
    monkeypatch.setenv('STEPDISTILL_EXPERIMENTS', str(d))
    return d

def test_failing_experiment_is_one_line_and_exit_1(failing_experiment, tmp_path):
    from test_failures import cli
    out = tmp_path/'run'
    r = cli('experiment', 'boom', '-p', 'n', '0', '--out', out)
    assert r.returncode == 1, r.stderr[-3000:]
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert r.stderr.strip().splitlines()[-1] == (
        f"stepdistill experiment: experiment boom ({failing_experiment/'boom.ipynb'}) failed in cell [4]: ZeroDivisionError: division by zero; "
        f"the partly executed report is {out.resolve()/'report.ipynb'}  (STEPDISTILL_DEBUG=1 shows the traceback)")
    info = json.loads((out/'run.json').read_text())
    assert (info['status'], info['error'], info['params']) == ('failed', 'ZeroDivisionError: division by zero', {'n': 0})
    report = json.loads((out/'report.ipynb').read_text())
    errors = [o for c in report['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert [(o['ename'], o['evalue']) for o in errors] == [('ZeroDivisionError', 'division by zero')]
    # STEPDISTILL_DEBUG=1: the traceback, as before
    import os
    dbg = cli('experiment', 'boom', '-p', 'n', '0', '--out', tmp_path/'run2', env={**os.environ, 'STEPDISTILL_DEBUG': '1'})
    assert dbg.returncode == 1 and 'Traceback' in dbg.stderr and 'PapermillExecutionError' in dbg.stderr and 'RunFailed' in dbg.stderr
