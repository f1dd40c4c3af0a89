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
    (['--prompt', 'two-shot'], '--prompt must be one of zero-shot, few-shot, few-shot-full, label-conditioned'),
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


# ---------------------------------------------------------------- a fake OpenAI-compatible teacher that fails
import re, sqlite3, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def reply_to(prompt: str) -> str:
    "The fake teacher's good answer to the generic zero-shot prompt for 'Is N even?'."
    n = int(re.search(r'Is (\d+) even\?', prompt).group(1))
    return f"{n} is {'even' if n % 2 == 0 else 'odd'}, as its last digit shows. So the answer is {'yes' if n % 2 == 0 else 'no'}."

def prompt(i: int) -> str:
    "The generic zero-shot prompt of record `i` of the `records` fixture."
    from stepdistill_nb.prompts import get_prompt
    return get_prompt('generic', 'zero-shot').render({'input': f'Is {i} even?'})

def usage_of(i: int) -> tuple:
    "The (prompt, completion) tokens the fake teacher reports for record `i`: words."
    return len(prompt(i).split()), len(reply_to(prompt(i)).split())

class FakeTeacher:
    """`POST /v1/chat/completions` on 127.0.0.1, a free port, in a thread. The prompts for the records numbered in
    `bad` get `fault`; the others (and all of them once `fault` is None) a good reply with `usage`. Faults: '500'
    (always), '429' (`Retry-After: 0.3` on the first try, then good), 'hang' (no answer until `close`), 'malformed'
    (a truncated JSON body), 'no-choices' (JSON without a completion), 'no-usage' (a good reply without `usage`)."""
    def __init__(self, fault=None, bad=(3, 4), delay=0.0):
        self.fault, self.bad, self.seen, self.lock, self.release = fault, bad, [], threading.Lock(), threading.Event()
        self.delay = delay   # seconds before each answer
        fake = self
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_POST(self): fake.answer(self)
        self.srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler); self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f'http://127.0.0.1:{self.srv.server_address[1]}/v1'

    def tries(self, i: int) -> list:
        "When the prompt of record `i` was asked for."
        return [t for t, p in self.seen if f'Is {i} even?' in p]

    def answer(self, h):
        prompt = json.loads(h.rfile.read(int(h.headers['Content-Length'])))['messages'][0]['content']
        with self.lock:
            self.seen.append((time.time(), prompt)); n = len(self.tries(int(re.search(r'Is (\d+) ', prompt).group(1))))
        if self.delay: time.sleep(self.delay)
        kind = self.fault if self.fault and int(re.search(r'Is (\d+) ', prompt).group(1)) in self.bad else 'good'
        if kind == '429' and n > 1: kind = 'good'
        if kind == 'hang': self.release.wait(30); kind = 'good'
        status, headers, text = 200, {}, reply_to(prompt)
        good = {'choices': [{'message': {'role': 'assistant', 'content': text}}],
                'usage': {'prompt_tokens': len(prompt.split()), 'completion_tokens': len(text.split())}}
        body = {'good': good, 'no-usage': {'choices': good['choices']}, 'no-choices': {'object': 'chat.completion'},
                '500': {'error': {'message': 'boom'}}, '429': {'error': {'message': 'slow down'}}}.get(kind)
        body = b'{"choices": [{"message": {"content": "4 is' if kind == 'malformed' else json.dumps(body).encode()
        if kind == '500': status = 500
        if kind == '429': status, headers = 429, {'Retry-After': '0.3'}
        try:
            h.send_response(status)
            for k, v in headers.items(): h.send_header(k, v)
            h.send_header('Content-Type', 'application/json'); h.send_header('Content-Length', str(len(body)))
            h.end_headers(); h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError): pass   # the client gave up (timeout)

    def close(self): self.release.set(); self.srv.shutdown(); self.srv.server_close()

@pytest.fixture
def fake():
    made = []
    def start(fault=None, **kw):
        made.append(FakeTeacher(fault, **kw)); return made[-1]
    yield start
    for f in made: f.close()

def cached_records(cache) -> dict:
    "Record number -> (text, prompt_tokens, completion_tokens) of each completion in the cache."
    with sqlite3.connect(str(cache/'completions.sqlite')) as db:
        rows = db.execute('SELECT prompt, text, prompt_tokens, completion_tokens FROM completions').fetchall()
    return {int(re.search(r'Is (\d+) even', p).group(1)): (t, pt, ct) for p, t, pt, ct in rows}

# fault -> (exit code, requests per faulty record, records that fail, what their parse_error says)
FAULTS = {
    'refused':    (3, 0, [0, 1, 2, 3, 4], 'ConnectionError'),
    '500':        (3, 3, [3, 4], 'HTTP 500'),
    '429':        (0, 2, [], None),
    'hang':       (3, 3, [3, 4], 'ReadTimeout'),
    'malformed':  (3, 3, [3, 4], 'malformed reply'),
    'no-choices': (3, 3, [3, 4], "malformed reply: KeyError('choices')"),
    'no-usage':   (0, 1, [], None),
}

@pytest.mark.parametrize('fault', list(FAULTS))
def test_fake_teacher_faults_through_the_cli(fault, fake, records, tmp_path):
    "Exit code, requests the server saw, what is cached, what is written; then a rerun asks only for what failed."
    code, per_bad, failed, why = FAULTS[fault]
    server = fake(None if fault == 'refused' else fault)
    url = DEAD if fault == 'refused' else server.url   # refused: nothing listens there
    out, cache = tmp_path/'out.jsonl', tmp_path/'cache'
    args = ['annotate', records, '--out', out, '--cache', cache, '--retries', '2', '--timeout', '1', '--quiet']
    t0 = time.time()
    r = cli(*args, '--teacher', f'http:fake@{url}')
    assert time.time() - t0 < 15, 'a faulty teacher must cost bounded time'
    assert r.returncode == code, r.stderr
    assert 'Traceback' not in r.stderr, r.stderr
    stats = json.loads(r.stdout.strip().splitlines()[-1])
    ok = [i for i in range(5) if i not in failed]
    assert (stats['requested'], stats['generated'], stats['cached'], stats['failed']) == (5, len(ok), 0, len(failed))
    # what the server saw: one request per good record, 1 + retries (or 2 for 429) per faulty one
    assert [len(server.tries(i)) for i in range(5)] == ([0] * 5 if fault == 'refused' else [1, 1, 1, per_bad, per_bad])
    # what is cached: exactly the completions that succeeded, with their usage (NULL where the server sent none)
    no_usage = fault == 'no-usage'
    assert cached_records(cache) == {i: (reply_to(prompt(i)), *((None, None) if no_usage and i in (3, 4) else usage_of(i))) for i in ok}
    # what is written: every record, the failed ones marked with why
    recs = load_examples(out)
    assert [x['id'] for x in recs] == [f'r{i}' for i in range(5)]
    for i, x in enumerate(recs):
        if i in ok: assert (x['teacher_raw'], x['llm_label'], x['parse_error']) == (reply_to(prompt(i)), 'yes' if i % 2 == 0 else 'no', None)
        else: assert x['teacher_raw'] is None and x['parse_error'].startswith('teacher failed: ') and why in x['parse_error'], x
    if failed: assert f'{len(failed)} of 5 completions failed: {len(failed)} by the teacher' in r.stderr, r.stderr
    if fault == '429':
        assert all(b - a >= 0.29 for a, b in (server.tries(i) for i in (3, 4))), 'Retry-After not honoured'
    if no_usage:
        known = [usage_of(i) for i in (0, 1, 2)]
        assert (stats['usage_unknown'], stats['cost_is_lower_bound'], stats['prompt_tokens'], stats['completion_tokens']) == (
            2, True, sum(p for p, _ in known), sum(c for _, c in known))
        assert '2 of 5 completions came without token usage' in r.stderr
    else: assert (stats['usage_unknown'], stats['cost_is_lower_bound']) == (0, False)
    # the same command once the teacher is healthy (on another port, for 'refused'): only the failed ones are asked for
    healthy = fake(None)
    before = len(healthy.seen) + len(server.seen)
    server.fault = None
    again = cli(*args, '--overwrite', '--teacher', f'http:fake@{healthy.url if fault == "refused" else server.url}')
    assert again.returncode == 0, again.stderr
    s2 = json.loads(again.stdout.strip().splitlines()[-1])
    assert (s2['generated'], s2['cached'], s2['failed'], s2['cached_usage_unknown']) == (len(failed), len(ok), 0, 2 if no_usage else 0)
    assert sorted(int(re.search(r'Is (\d+) ', p).group(1)) for _, p in (healthy.seen + server.seen)[before:]) == failed
    assert sorted(cached_records(cache)) == [0, 1, 2, 3, 4]
    assert all(x['teacher_raw'] == reply_to(x['input']) for x in load_examples(out))


# ---------------------------------------------------------------- inputs too long for the teacher's context
def test_annotate_refuses_prompts_too_long_for_the_context(tmp_path):
    "Checked before any work: the record that does not fit is named, never sent, and costs the others nothing."
    data = tmp_path/'long.jsonl'
    save_examples([{'id': 'short-1', 'input': 'Is 2 even?'}, {'id': 'huge', 'input': 'apples ' * 400},
                   {'id': 'short-2', 'input': 'Is 3 even?'}], data)
    out, cache = tmp_path/'out.jsonl', tmp_path/'c'
    args = ['annotate', data, '--out', out, '--teacher', 'smollm2', '--n-ctx', '256', '--max-new-tokens', '8', '--cache', cache, '--quiet']
    r = cli(*args)
    assert r.returncode == 3, r.stderr
    m = re.search(r"stepdistill annotate: warning: 1 of 3 prompts do not fit the context of llama.cpp SmolLM2-135M-Instruct.Q4_1.gguf "
                  r"and are not sent \(llama.cpp: a prompt of (\d+) tokens \+ 8 new ones exceeds the 256-token context\): huge; ", r.stderr)
    assert m and int(m.group(1)) > 400, r.stderr
    assert r.stderr.index('warning: 1 of 3') < r.stderr.index('records annotated'), 'the warning comes before the work'
    assert "1 of 3 completions failed: 1 too long for the teacher's context, not sent: huge (shorten them, raise --n-ctx" in r.stderr
    stats = json.loads(r.stdout.strip().splitlines()[-1])
    assert (stats['requested'], stats['generated'], stats['failed'], stats['too_long']) == (3, 2, 1, 1)
    recs = load_examples(out)
    assert recs[1]['parse_error'] == f'not sent: llama.cpp: a prompt of {m.group(1)} tokens + 8 new ones exceeds the 256-token context'
    assert recs[1]['teacher_raw'] is None and recs[0]['teacher_raw'] and recs[2]['teacher_raw']
    with sqlite3.connect(str(cache/'completions.sqlite')) as db: assert db.execute('SELECT COUNT(*) FROM completions').fetchone()[0] == 2
    # again: the two are served from the cache, the long one is refused again, nothing is generated
    again = cli(*args, '--overwrite')
    assert again.returncode == 3
    s2 = json.loads(again.stdout.strip().splitlines()[-1])
    assert (s2['cached'], s2['generated'], s2['too_long']) == (2, 0, 1)


# ---------------------------------------------------------------- kill -9 at random moments, again and again
def cache_rows(cache) -> set:
    "Record numbers whose completion is in the cache (none while the cache is not created yet)."
    try: return set(cached_records(cache))
    except sqlite3.OperationalError: return set()

def kill_when(p, ready, rng, timeout=120):
    "SIGKILL process `p` a random 0-50 ms after `ready()` holds; `False` if `p` ended first."
    import os, signal
    t0 = time.time()
    while not ready():
        if p.poll() is not None: return False
        assert time.time() - t0 < timeout, 'the moment to kill never came'
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.05))
    if p.poll() is not None: return False
    os.kill(p.pid, signal.SIGKILL); p.wait(); return True

@pytest.mark.parametrize('seed', [0, 1])
def test_annotate_killed_at_random_moments_loses_and_repeats_nothing(fake, tmp_path, seed):
    """`kill -9` annotate again and again, each time once the cache holds a random number of completions (all of
    them included: then the kill lands while the output is written), then run it to the end. Nothing is lost (every
    record written once, every completion cached), nothing cached is ever asked for again, the output file is never
    half written, and the cache stays sound."""
    import random
    n, rng = 12, random.Random(seed)
    data = tmp_path/'in.jsonl'
    save_examples([{'id': f'r{i}', 'input': f'Is {i} even?', 'label': 'yes' if i % 2 == 0 else 'no'} for i in range(n)], data)
    server = fake(None, delay=0.05)
    out, cache = tmp_path/'out.jsonl', tmp_path/'cache'
    args = [str(BIN/'stepdistill'), 'annotate', str(data), '--out', str(out), '--cache', str(cache), '--teacher', f'http:fake@{server.url}',
            '--quiet', '--overwrite']
    kills = 0
    for target in sorted(rng.sample(range(n), 3)) + [n]:   # the last once all are cached: while the output is written
        done = cache_rows(cache)
        asked = {i: len(server.tries(i)) for i in done}
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killed = kill_when(p, lambda: len(cache_rows(cache)) >= target, rng)
        assert killed or p.returncode == 0, p.stderr.read().decode()[-2000:]
        kills += killed
        assert {i: len(server.tries(i)) for i in done} == asked, 'a cached completion was asked for again'
        if out.exists(): assert len(load_examples(out)) == n, 'the output was left half written'
        if (cache/'completions.sqlite').exists():   # (a kill at start-up may come before the cache is made)
            with sqlite3.connect(str(cache/'completions.sqlite')) as db: assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    assert kills >= 2, f'only {kills} kills landed'
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    stats = json.loads(r.stdout.strip().splitlines()[-1])
    assert (stats['requested'], stats['generated'] + stats['cached'], stats['failed']) == (n, n, 0)
    recs = load_examples(out)
    assert [x['id'] for x in recs] == [f'r{i}' for i in range(n)] and all(x['teacher_raw'] == reply_to(x['input']) for x in recs)
    assert cache_rows(cache) == set(range(n))
    # asked twice at most where a kill cut off a request in flight (4 at a time): never more
    extra = sum(len(server.tries(i)) for i in range(n)) - n
    assert 0 <= extra <= 4 * kills, (extra, kills)


def test_train_killed_at_random_moments_resumes_every_time(records, tmp_path):
    """`kill -9` train three times, each a random moment after a random checkpoint appeared (inside a checkpoint
    write, or between two), resuming each time; the last run ends at the planned step, and every step is logged once."""
    import random
    rng = random.Random(0)
    data = tmp_path/'d.jsonl'
    save_examples([{'id': f'r{i}', 'input': f'{i} plus one', 'label': str(i + 1)} for i in range(40)], data)
    out = tmp_path/'run'
    args = [str(BIN/'stepdistill'), 'train', str(data), '--student', 'tiny-llama', '--mode', 'standard', '--out', str(out),
            '--max-steps', '12', '--eval-steps', '1', '--batch-size', '4', '--max-input-len', '16', '--max-target-len', '4', '--no-plot']
    ck, kills, last = out/'checkpoints', 0, 0
    for k in range(3):
        step = rng.randint(last + 1, last + 3)
        p = subprocess.Popen(args + (['--resume'] if k else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killed = kill_when(p, lambda: (ck/f'checkpoint-{step}').exists(), rng, timeout=300)
        assert killed, p.stderr.read().decode()[-2000:]
        kills += 1
        last = step
    r = cli(*args[1:], '--resume', '--json', subprocess_=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])['global_step'] == 12
    steps = [h['step'] for h in json.loads((out/'log_history.json').read_text()) if 'loss' in h]
    assert steps == list(range(1, 13)), steps   # every step once, none lost
