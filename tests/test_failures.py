"""Failures that are loud and lose nothing: exit codes, outputs never destroyed, flags checked before any work,
encodings, a checkpoint interrupted while being written. Fast, loopback only: a teacher that is not there is
a closed port on 127.0.0.1."""
import json, subprocess, sys, warnings
from pathlib import Path
import pytest
from stepdistill_nb.data import load_examples, save_examples

BIN = Path(sys.executable).parent
DEAD = 'http://127.0.0.1:9/v1'   # nothing listens on the discard port: every call is refused at once


def cli(*args, timeout=300, env=None, subprocess_=False):
    """Run `stepdistill ARGS`: in this process through `cli.main` (fast), or as the console script when `subprocess_`
    (or `env`) is given. Returns `(returncode, stdout, stderr)` as a `CompletedProcess`."""
    args = [str(a) for a in args]
    if subprocess_ or env is not None:
        return subprocess.run([str(BIN/'stepdistill'), *args], capture_output=True, text=True, timeout=timeout, env=env)
    import contextlib, io, traceback
    from stepdistill_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main(args) or 0
        except SystemExit as e: code = e.code if isinstance(e.code, int) else (print(e.code, file=sys.stderr) or 1)
        except Exception: traceback.print_exc(); code = 1
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def one_line_error(r, *parts):
    "Exit 2, no traceback, every part in the message."
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    for p in parts: assert p in r.stderr, (p, r.stderr[-2000:])


@pytest.fixture
def records(tmp_path):
    p = tmp_path/'in.jsonl'
    save_examples([{'id': f'r{i}', 'input': f'Is {i} even?', 'label': 'yes' if i % 2 == 0 else 'no'} for i in range(5)], p)
    return p


# ---------------------------------------------------------------- annotate
def test_annotate_all_failed_exits_3_and_keeps_records(records, tmp_path):
    out = tmp_path/'out.jsonl'
    r = cli('annotate', records, '--out', out, '--teacher', f'http:m@{DEAD}', '--retries', '0', '--timeout', '2',
            '--cache', tmp_path/'c', '--quiet', subprocess_=True)
    assert r.returncode == 3, r.stderr
    assert '5 of 5 completions failed' in r.stderr and 'Connection' in r.stderr and '--overwrite' in r.stderr
    stats = json.loads(r.stdout.strip().splitlines()[-1])
    assert (stats['failed'], stats['prompt']) == (5, 'zero-shot')   # a generic file: zero-shot by default, not a crash
    recs = load_examples(out)
    assert len(recs) == 5 and all(x['parse_error'].startswith('teacher failed') for x in recs)
    # the same command again is refused (OUT exists) before any work; with --overwrite it retries
    one_line_error(cli('annotate', records, '--out', out, '--teacher', f'http:m@{DEAD}', '--cache', tmp_path/'c'), 'exists: pass --overwrite')
    again = cli('annotate', records, '--out', out, '--teacher', f'http:m@{DEAD}', '--retries', '0', '--timeout', '2',
                '--cache', tmp_path/'c', '--quiet', '--overwrite')
    assert again.returncode == 3 and json.loads(again.stdout.strip().splitlines()[-1])['cached'] == 0


def test_annotate_never_destroys_its_input(records, tmp_path):
    before = records.read_text()
    one_line_error(cli('annotate', records, '--out', records, '--limit', '2'), 'is the input file')
    one_line_error(cli('annotate', records, '--out', records, '--limit', '2', '--overwrite'), 'is the input file')
    assert records.read_text() == before
    (tmp_path/'folder').mkdir()
    one_line_error(cli('annotate', records, '--out', tmp_path/'folder'), 'is a folder')
    assert list((tmp_path/'folder').iterdir()) == [] and not list(tmp_path.glob('*.tmp'))


@pytest.mark.parametrize('flags,msg', [
    (['--coverage', '0'], '--coverage must be a fraction in (0, 1] or a count > 1'),
    (['--limit', '0'], '--limit must be at least 1, not 0'),
    (['--limit', '-1'], '--limit must be at least 1, not -1'),
    (['--max-new-tokens', '0'], '--max-new-tokens must be at least 1'),
    (['--teacher', 'bogus'], "unknown teacher 'bogus'"),
    (['--task', 'bogus'], "prompt registered for task 'bogus'"),
    (['--prompt', 'two-shot'], '--prompt must be one of zero-shot, few-shot, label-conditioned'),
])
def test_annotate_flags_checked_before_work(records, tmp_path, flags, msg):
    out = tmp_path/'o.jsonl'
    one_line_error(cli('annotate', records, '--out', out, *flags, timeout=60), msg)
    assert not out.exists()


def test_teacher_url_credentials_never_shown(records, tmp_path):
    r = cli('annotate', records, '--out', tmp_path/'o.jsonl', '--teacher', 'http:m@http://user:sk-url-secret@127.0.0.1:9/v1',
            '--retries', '0', '--timeout', '2', '--cache', tmp_path/'c', '--quiet')
    assert r.returncode == 3
    assert 'sk-url-secret' not in r.stdout + r.stderr and '***@127.0.0.1:9' in r.stdout
    assert 'sk-url-secret' not in (tmp_path/'o.jsonl').read_text()


# ---------------------------------------------------------------- reading files
def test_encodings(tmp_path):
    line = '{"input": "caf\u00e9 au lait", "label": "x"}\n'
    for name, data in [('bom.jsonl', b'\xef\xbb\xbf' + line.encode()), ('u16.jsonl', line.encode('utf-16'))]:
        (tmp_path/name).write_bytes(data)
        assert load_examples(tmp_path/name)[0]['input'] == 'café au lait', name
    (tmp_path/'latin1.jsonl').write_bytes(line.encode('latin-1'))
    one_line_error(cli('inspect', tmp_path/'latin1.jsonl', timeout=60), 'latin1.jsonl, line 1: not UTF-8 text')


def test_misspelled_dataset_fails_at_once(tmp_path):
    "Not a file, not a released name, and the hub cannot be reached (here: a closed port): one line, no retry loop."
    import os, time
    t0 = time.time()
    r = cli('inspect', 'svmap', timeout=60, env={**os.environ, 'HF_ENDPOINT': 'http://127.0.0.1:9'})
    assert time.time() - t0 < 30
    one_line_error(r, 'svmap: no such file or folder, and the Hugging Face hub is unreachable')


# ---------------------------------------------------------------- train, serve
@pytest.mark.parametrize('flags,msg', [
    (['--alpha', '-1'], '--alpha must be between 0 and 1, not -1.0'),
    (['--epochs', '0'], '--epochs must be more than 0'),
    (['--best-by', 'bogus'], '--best-by must be one of accuracy, loss'),
    (['--limit', '0'], '--limit must be at least 1, not 0'),
    (['--mode', 'finetune'], '--mode must be one of standard, distill, step-by-step'),
])
def test_train_flags_checked_before_work(records, tmp_path, flags, msg):
    one_line_error(cli('train', records, '--out', tmp_path/'st', *flags, timeout=120, subprocess_=flags[0] == '--alpha'), msg)
    assert not (tmp_path/'st').exists()


def test_train_refuses_to_replace_a_saved_student(records, tmp_path):
    (tmp_path/'st').mkdir(); (tmp_path/'st'/'stepdistill.json').write_text('{}')
    one_line_error(cli('train', records, '--out', tmp_path/'st', '--student', 'tiny-llama', timeout=120), 'already holds a trained student', '--overwrite')


def test_serve_bad_port(tmp_path):
    one_line_error(cli('serve', tmp_path, '--port', '99999', timeout=60), '--port must be a TCP port')


def test_resume_skips_a_checkpoint_killed_mid_write(tmp_path):
    "A kill while checkpoint-4 was written (no trainer_state.json, an empty optimizer.pt): resume falls back to checkpoint-2."
    from stepdistill_nb.training import train
    data = [{'id': f'r{i}', 'input': f'{i} plus one', 'label': str(i + 1)} for i in range(24)]
    kw = dict(student='tiny-llama', mode='standard', valid=data[:4], batch_size=4, eval_steps=2, max_input_len=16, max_target_len=4,
              progress=False, plot=False)
    out = tmp_path/'run'
    train(data, out=out, max_steps=4, **kw)
    ck = out/'checkpoints'
    assert sorted(p.name for p in ck.iterdir()) == ['checkpoint-2', 'checkpoint-4']
    (ck/'checkpoint-4'/'trainer_state.json').unlink()
    (ck/'checkpoint-4'/'optimizer.pt').write_bytes(b'')
    (ck/'checkpoint-6').mkdir()   # killed right after creating the folder
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        info = train(data, out=out, max_steps=6, resume=True, **kw)
    msgs = ' '.join(str(x.message) for x in w)
    assert 'skipping checkpoint-6, checkpoint-4' in msgs and 'resuming from checkpoint-2' in msgs, msgs
    assert info['global_step'] == 6


def test_train_killed_during_a_checkpoint_write_resumes(records, tmp_path):
    "`kill -9` the moment a checkpoint folder appears (its files half written): `--resume` continues from the last complete one."
    import os, signal, time
    data = tmp_path/'d.jsonl'
    save_examples([{'id': f'r{i}', 'input': f'{i} plus one', 'label': str(i + 1)} for i in range(40)], data)
    out = tmp_path/'run'
    args = [str(BIN/'stepdistill'), 'train', str(data), '--student', 'tiny-llama', '--mode', 'standard', '--out', str(out),
            '--max-steps', '8', '--eval-steps', '1', '--batch-size', '4', '--max-input-len', '16', '--max-target-len', '4', '--no-plot']
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ck, t0 = out/'checkpoints', time.time()
    while not (ck/'checkpoint-3').exists():
        assert p.poll() is None, p.stderr.read().decode()[-2000:]
        assert time.time() - t0 < 300, 'no checkpoint-3 in time'
        time.sleep(0.005)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    r = cli('train', data, '--student', 'tiny-llama', '--mode', 'standard', '--out', out, '--max-steps', '8', '--eval-steps', '1',
            '--batch-size', '4', '--max-input-len', '16', '--max-target-len', '4', '--no-plot', '--resume', '--json', subprocess_=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])['global_step'] == 8
    steps = [h['step'] for h in json.loads((out/'log_history.json').read_text()) if 'loss' in h]
    assert steps == sorted(set(steps)) and steps[-1] == 8, steps   # every step once, none lost
