"""Serving benchmark: dynamic batching vs one input per `predict` call, the same student behind the same app.

The student (default `runs/fhir-demo/student`, left by `make demo`; a tiny-t5 trained for a few steps when absent)
is served twice from its own process on 127.0.0.1: with the default batcher (`Limits(max_batch=32)`: the inputs
of requests that arrive together are answered by one batched `predict`) and with `max_batch=1` (requests take
turns, what the server did before). The same FHIR requests are sent at each concurrency level; printed and
written to benchmarks/results/serve_batching.json (or --out): requests/s, p50/p99 latency, and the ratio
batched / one at a time.

    python benchmarks/bench_serve_batching.py [--student DIR] [--requests 64] [--concurrency 1,8,32]
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import requests
sys.path.insert(0, str(Path(__file__).parent))
from bench_serve import REPO, load, rss_mb, start_server, student_or_tiny


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--student', default=str(REPO/'runs'/'fhir-demo'/'student'))
    ap.add_argument('--requests', type=int, default=64)
    ap.add_argument('--concurrency', default='1,8,32')
    ap.add_argument('--out', default=str(REPO/'benchmarks'/'results'/'serve_batching.json'))
    a = ap.parse_args()
    from stepdistill_nb.fhir_data import generate_fhir_dataset
    texts = generate_fhir_dataset(n_train=0, n_test=a.requests, seed=1)['test']['input']
    student, note = student_or_tiny(a.student)
    print(note)
    levels = [int(c) for c in a.concurrency.split(',')]
    report = dict(benchmark='serving: dynamic batching vs one input per predict call', started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                  machine=dict(platform=platform.platform(), python=platform.python_version(), cpus=os.cpu_count()),
                  endpoint='/v1/chat/completions', note=note, student=student, requests=a.requests, modes={})
    answers = {}
    for mode, max_batch in [('one_at_a_time', 1), ('batched', 32)]:
        p, url, start_s = start_server('student', student, max_batch=max_batch)
        try:
            requests.post(url + '/v1/chat/completions', json={'messages': [{'role': 'user', 'content': texts[0]}]}, timeout=900)  # warm-up
            runs = []
            for c in levels:
                r, answers[mode, c] = load(url, texts, c)
                runs.append(r)
                print(f"{mode:14s} c={c:<3d} {r['requests_per_s']:7.2f} req/s   p50 {r['p50_s']:.3f} s   p99 {r['p99_s']:.3f} s")
            report['modes'][mode] = dict(max_batch=max_batch, runs=runs, rss_mb=rss_mb(p))
        finally: p.kill(); p.wait()
    one, bat = report['modes']['one_at_a_time']['runs'], report['modes']['batched']['runs']
    report['batched_vs_one_at_a_time'] = {str(r['concurrency']): round(b['requests_per_s'] / r['requests_per_s'], 2) for r, b in zip(one, bat)}
    report['same_answers'] = all(answers['batched', c] == answers['one_at_a_time', c] for c in levels)
    print('requests/s, batched / one at a time:', report['batched_vs_one_at_a_time'], '| same answers:', report['same_answers'])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=1) + '\n')
    print('wrote', a.out)


if __name__ == '__main__': main()
