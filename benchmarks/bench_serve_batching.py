"""Serving benchmark: batched decoding vs one request at a time, the same student behind the same app, in one run.

The student (default `runs/fhir-demo/student`, left by `make demo`; a tiny-t5 trained for a few steps when absent)
is served twice from its own process on 127.0.0.1: with the default `Limits(max_batch=32)` (a causal student is
decoded by `stepdistill_nb.serve.Decoder`: continuous batching, every request in flight advances one token per
model forward; other students get one batched `predict` per group of requests) and with `max_batch=1` (one row at
a time: requests take turns on the model). At each concurrency level the same FHIR requests are sent as chat
requests by that many client threads. Printed and written to benchmarks/results/serve_batching.json (or --out):
requests/s, p50/p99 latency, how full the batches were (the server's `/health`), the ratio batched / one at a
time, whether both modes gave the same answers, and whether they equal `Student.predict` called on each request
alone (the unbatched `generate` path).

    python benchmarks/bench_serve_batching.py [--student DIR] [--concurrency 1,8,32] [--requests 8,48,48]
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import requests
sys.path.insert(0, str(Path(__file__).parent))
from bench_serve import REPO, load, rss_mb, start_server, student_or_tiny


def batching(url):
    return requests.get(url + '/health', timeout=30).json().get('batching', {})


def level_stats(before, after):
    "Rows per model forward during one load level, from the server's cumulative counters."
    if after.get('engine') != 'continuous': return after
    steps = after['steps'] - before.get('steps', 0)
    rows = after['mean_rows_per_step'] * after['steps'] - before.get('mean_rows_per_step', 0) * before.get('steps', 0)
    pre = after['prefills'] - before.get('prefills', 0)
    pre_rows = after['mean_rows_per_prefill'] * after['prefills'] - before.get('mean_rows_per_prefill', 0) * before.get('prefills', 0)
    return dict(decode_steps=steps, mean_rows_per_step=round(rows / max(steps, 1), 2), prefills=pre, mean_rows_per_prefill=round(pre_rows / max(pre, 1), 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--student', default=str(REPO/'runs'/'fhir-demo'/'student'))
    ap.add_argument('--concurrency', default='1,8,32')
    ap.add_argument('--requests', default='8,48,48', help='requests sent at each concurrency level (one number: the same for all)')
    ap.add_argument('--check', type=int, default=8, help='first N requests also answered by Student.predict one at a time (0: skip)')
    ap.add_argument('--out', default=str(REPO/'benchmarks'/'results'/'serve_batching.json'))
    a = ap.parse_args()
    levels = [int(c) for c in a.concurrency.split(',')]
    ns = [int(n) for n in a.requests.split(',')]
    ns = ns * len(levels) if len(ns) == 1 else ns
    if len(ns) != len(levels): ap.error('--requests needs one number, or one per --concurrency level')
    from stepdistill_nb.fhir_data import generate_fhir_dataset
    texts = generate_fhir_dataset(n_train=0, n_test=max(ns + [a.check]), seed=1)['test']['input']
    student, note = student_or_tiny(a.student)
    print(note)
    report = dict(benchmark='serving: batched decoding vs one request at a time', started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                  machine=dict(platform=platform.platform(), python=platform.python_version(), cpus=os.cpu_count()),
                  endpoint='/v1/chat/completions', note=note, student=student, requests=dict(zip(map(str, levels), ns)), modes={})
    answers = {}
    for mode, max_batch in [('one_at_a_time', 1), ('batched', 32)]:
        p, url, start_s = start_server('student', student, max_batch=max_batch)
        try:
            requests.post(url + '/v1/chat/completions', json={'messages': [{'role': 'user', 'content': texts[0]}]}, timeout=900)  # warm-up
            runs = []
            for c, n in zip(levels, ns):
                before = batching(url)
                r, answers[mode, c] = load(url, texts[:n], c)
                r['batching'] = level_stats(before, batching(url))
                runs.append(r)
                b = r['batching']
                print(f"{mode:14s} c={c:<3d} n={n:<3d} {r['requests_per_s']:7.3f} req/s   p50 {r['p50_s']:6.2f} s   p99 {r['p99_s']:6.2f} s"
                      + (f"   rows/step {b['mean_rows_per_step']}" if 'mean_rows_per_step' in b else ''), flush=True)
            report['modes'][mode] = dict(max_batch=max_batch, engine=batching(url).get('engine'), runs=runs, rss_mb=rss_mb(p))
        finally: p.kill(); p.wait()
    one, bat = report['modes']['one_at_a_time']['runs'], report['modes']['batched']['runs']
    report['batched_vs_one_at_a_time'] = {str(r['concurrency']): round(b['requests_per_s'] / r['requests_per_s'], 2) for r, b in zip(one, bat)}
    report['same_answers'] = all(answers['batched', c] == answers['one_at_a_time', c] for c in levels)
    if a.check:   # the unbatched `generate` path, in this process once the servers are gone
        from stepdistill_nb.training import Student
        st, k = Student.load(student), min(a.check, max(ns))
        t0 = time.perf_counter()
        ref = [st.predict([t])[0]['label'] for t in texts[:k]]
        same = lambda mode: all(answers[mode, c][:k] == ref for c, n in zip(levels, ns) if n >= k)   # at every level that sent them
        report['student_predict'] = dict(requests=k, seconds_per_request=round((time.perf_counter() - t0) / k, 3),
                                         matches_batched=same('batched'), matches_one_at_a_time=same('one_at_a_time'))
        print(f"Student.predict alone: {report['student_predict']['seconds_per_request']} s per request; answers equal: "
              f"batched {report['student_predict']['matches_batched']}, one at a time {report['student_predict']['matches_one_at_a_time']}")
    report['example'] = dict(request=texts[0], answer=answers['batched', levels[0]][0])
    print('requests/s, batched / one at a time:', report['batched_vs_one_at_a_time'], '| same answers:', report['same_answers'])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=1) + '\n')
    print('wrote', a.out)


if __name__ == '__main__': main()
