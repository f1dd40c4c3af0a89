"""Ranking answer choices: each prompt once (`shared_prompt_batch`) against a row per candidate (the training step's packed rows).

A causal student scores every candidate answer of a multiple-choice question as its label (`score_choices`). The reference
is the row-wise path (`_rowwise_logprobs`: prompt and candidate in one packed row, so a question with five choices reads
its prompt five times); the new path lays out the prompt once and every candidate after it, under a mask where each
candidate sees the prompt and itself. Both score the same questions in one run, alternating (so both see the same machine
load); the answer is the same, so the log-probabilities must agree, and the benchmark checks that they do.

Questions: CommonsenseQA's test split from the paper's release (../shared/data/dss), five choices each; where that is
absent, synthetic questions of the same shape. Prints the figures and writes JSON to benchmarks/results/choices.json.

    python benchmarks/bench_choices.py [--student smollm2] [--n 100] [--batch-size 32] [--repeats 2]
"""
import argparse, json, platform, time
from pathlib import Path
import torch
from stepdistill_nb.training import TaskFormat, _rowwise_logprobs, load_student, prompt_and_candidates, score_choices

ROOT = Path(__file__).resolve().parents[1].parent/'shared'/'data'/'dss'

def questions(n):
    if (ROOT/'cqa'/'cqa_test.json').exists():
        from stepdistill_nb.dss import answer_choices, load_dss
        texts = load_dss('cqa', ROOT, 'test')['input'][:n]
        return texts, answer_choices('cqa', texts), 'cqa test (paper release)'
    words = ['river', 'kitchen', 'office', 'garden', 'library', 'market', 'school']
    texts = [f'Where would you most likely find item number {i}?\nAnswer Choices:\n' +
             '\n'.join(f'({c}) {words[(i + k) % len(words)]}' for k, c in enumerate('abcde')) for i in range(n)]
    return texts, [[words[(i + k) % len(words)] for k in range(5)] for i in range(n)], 'synthetic (../shared absent)'

def main(student='smollm2', n=100, batch_size=32, repeats=2, out='benchmarks/results/choices.json'):
    torch.manual_seed(0)
    model, tok = load_student(student); model.eval()
    fmt = TaskFormat(seq2seq=False)
    texts, cands, source = questions(n)
    items = [prompt_and_candidates(tok, fmt, t, cs) for t, cs in zip(texts, cands)]   # the layouts both paths read
    row_tokens = sum(len(p) * len(cs) + sum(map(len, cs)) for p, cs in items)         # the prompt again with every candidate
    shared_tokens = sum(len(p) + sum(map(len, cs)) for p, cs in items)                 # the prompt once
    runs = dict(rowwise=lambda: _rowwise_logprobs(model, tok, fmt, texts, cands, batch_size, False),
                shared=lambda: [x for s in score_choices(model, tok, fmt, texts, cands, batch_size) for x in s])
    times, scores = {k: [] for k in runs}, {}
    for _ in range(repeats):
        for k, f in runs.items():
            t0 = time.perf_counter(); scores[k] = f(); times[k].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    diff = max(abs(a - b) for a, b in zip(scores['rowwise'], scores['shared']))
    res = dict(student=student, questions=n, candidates=sum(map(len, cands)), source=source, batch_size=batch_size, repeats=repeats,
               tokens=dict(rowwise=row_tokens, shared=shared_tokens), seconds=best,
               questions_per_s={k: round(n / v, 2) for k, v in best.items()},
               speedup=round(best['rowwise'] / best['shared'], 2), max_abs_logprob_diff=diff,
               machine=dict(cpu=platform.processor() or platform.machine(), threads=torch.get_num_threads(),
                            capability=torch.backends.cpu.get_cpu_capability()))
    print(f"{n} questions ({source}), {res['candidates']} candidates, {student}:")
    for k in runs: print(f"  {k:8s} {res['tokens'][k]:7d} tokens  {best[k]:7.2f} s  {res['questions_per_s'][k]:6.2f} questions/s")
    print(f"  shared prompt: {res['speedup']}x the row-wise reference; largest log-probability difference {diff:.2e}")
    assert diff < 1e-2, f'the two paths disagree by {diff}'
    Path(out).parent.mkdir(parents=True, exist_ok=True); Path(out).write_text(json.dumps(res, indent=2))
    return res

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--student', default='smollm2'); p.add_argument('--n', type=int, default=100)
    p.add_argument('--batch-size', type=int, default=32); p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--out', default='benchmarks/results/choices.json')
    a = p.parse_args()
    main(a.student, a.n, a.batch_size, a.repeats, a.out)
