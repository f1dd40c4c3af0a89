"Tests of stepdistill_nb.ddk: the DDK rule, the domain sampler, per-domain perplexity, logit KD and the Trainer callback."
import json, math, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from transformers import TrainerCallback
import fastcore.test as fct

from stepdistill_nb.ddk import (DDK_STATE, DDKCallback, DomainSampler, LogitKD, TokenizerMismatch,
                                cached_perplexity, char_tokenizer, check_same_tokenizer, chi2_pvalue, ddk_gaps,
                                ddk_weights, domain_perplexity, group_by_domain, kd_loss, lm_collator,
                                plot_ddk, read_ddk_log, tiny_llama, toy_domain_records)


# ---------------------------------------------------------------- eq. 1 / eq. 2, hand-computed

# eq. 1 and eq. 2 on the three-domain hand-worked table are tested in nbs/07_ddk.ipynb, where a reader sees them.

def test_eq2_two_domains_and_smoothing():
    # r_prev = softmax(2, 1) = (0.731059, 0.268941); psi = (0.731059*e^2, 0.268941*e) = (5.401861, 0.731059)
    prev = ddk_weights([20, 10], [10, 10])
    np.testing.assert_allclose(prev, [0.731059, 0.268941], atol=1e-6)
    r = ddk_weights([20, 10], [10, 10], prev=prev, smoothing=0.5)
    np.testing.assert_allclose(r, [0.5 * 5.401861 / 6.132920 + 0.25, 0.5 * 0.731059 / 6.132920 + 0.25], atol=1e-6)
    np.testing.assert_allclose(ddk_weights([20, 10], [10, 10], prev=prev, smoothing=0.0), [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(ddk_weights([20, 10], [10, 10], prev=prev, smoothing=1.0), [5.401861 / 6.132920, 0.731059 / 6.132920], atol=1e-6)
    assert ddk_gaps({'a': 20, 'b': 10}, {'a': 10, 'b': 10}) == {'a': 2.0, 'b': 1.0}


def test_weights_errors():
    with pytest.raises(ValueError, match="only in student_ppl: \\['b'\\]"): ddk_weights({'a': 1, 'b': 2}, {'a': 1})
    with pytest.raises(ValueError, match='positive finite'): ddk_weights({'a': -1}, {'a': 1})
    with pytest.raises(ValueError, match='smoothing'): ddk_weights([1], [1], prev=[1], smoothing=2)
    with pytest.raises(ValueError, match='prev'): ddk_weights({'a': 1, 'b': 1}, {'a': 1, 'b': 1}, prev={'a': 1, 'c': 1})


# ---------------------------------------------------------------- sampler

DOMS = ['a'] * 5 + ['b'] * 7 + ['c'] * 11 + ['d'] * 2


@pytest.mark.parametrize('weights', [{'a': 0.1, 'b': 0.2, 'c': 0.3, 'd': 0.4}, {'a': 0.7, 'b': 0.1, 'c': 0.1, 'd': 0.1},
                                     {'a': 0.25, 'b': 0.25, 'c': 0.25, 'd': 0.25}])
def test_sampler_proportions(weights):
    n = 20000
    s = DomainSampler(DOMS, weights, num_samples=n, seed=7)
    counts = np.bincount([s.names.index(DOMS[i]) for i in s], minlength=4)
    probs = np.array([weights[k] for k in s.names])
    assert chi2_pvalue(counts, probs) > 1e-3, counts          # chi-square goodness of fit
    sd = np.sqrt(n * probs * (1 - probs))                      # and each domain within 5 binomial sd
    assert np.all(np.abs(counts - n * probs) < 5 * sd), counts


def test_sampler_zero_weight_domain_is_never_drawn():
    "Eq. 1 can underflow to weight 0 for all but the hardest domain: such a domain is simply not sampled."
    s = DomainSampler(DOMS, ddk_weights({'a': 9000., 'b': 10., 'c': 9., 'd': 8.}, dict.fromkeys('abcd', 1.)), num_samples=500, seed=3)
    assert {DOMS[i] for i in s} == {'a'}
    with pytest.raises(ValueError, match='at least one value must be positive'): DomainSampler(DOMS, dict.fromkeys('abcd', 0.))


def test_chi2_pvalue_known_values():
    assert abs(chi2_pvalue([30, 30, 40], [1, 1, 1]) - math.exp(-1)) < 1e-9    # 2 dof: p = exp(-x/2), x = 2
    assert abs(chi2_pvalue([60, 40], [0.5, 0.5]) - 0.0455003) < 1e-6          # 1 dof, x = 4
    s = DomainSampler(DOMS, {'a': 0.1, 'b': 0.2, 'c': 0.3, 'd': 0.4}, num_samples=5000, seed=1)
    counts = np.bincount([s.names.index(DOMS[i]) for i in s], minlength=4)
    assert chi2_pvalue(counts, [0.25] * 4) < 1e-6                              # the test has power


def test_sampler_cycles_with_reshuffle():
    s = DomainSampler(DOMS, {'a': 0.1, 'b': 0.1, 'c': 0.1, 'd': 0.7}, num_samples=400, seed=0)
    d_draws = [i for i in s if DOMS[i] == 'd']
    cycles = [tuple(d_draws[k:k + 2]) for k in range(0, len(d_draws) - 1, 2)]
    assert all(sorted(c) == [23, 24] for c in cycles)          # each cycle is a permutation of the domain
    assert len(set(cycles)) == 2                               # and cycles are reshuffled
    c_draws = [i for i in DomainSampler(DOMS, {'a': 0.1, 'b': 0.1, 'c': 0.7, 'd': 0.1}, num_samples=400, seed=0) if DOMS[i] == 'c']
    firsts = [tuple(c_draws[k:k + 11]) for k in range(0, 33, 11)]
    assert all(sorted(f) == list(range(12, 23)) for f in firsts) and len(set(firsts)) == 3


def test_sampler_seeded_and_epochs():
    a = DomainSampler(DOMS, seed=5, num_samples=30)
    b = DomainSampler(DOMS, seed=5, num_samples=30)
    e0, e1 = list(a), list(a)
    assert e0 == list(b) and e1 == list(b) and e0 != e1        # the next iteration continues, not repeats
    a.set_epoch(0)
    assert list(a) == e0
    assert list(DomainSampler(DOMS, seed=6, num_samples=30)) != e0
    assert len(a) == 30


def test_sampler_state_resume_mid_stream():
    s = DomainSampler(DOMS, seed=3, num_samples=50)
    it, seen = iter(s), []
    for k in range(120):
        if k in (50, 100): s.set_epoch(k // 50); it = iter(s)  # epochs 1 and 2, as the Trainer does
        if k in (17, 66): s.set_weights({'a': 0.05, 'b': 0.05, 'c': 0.1, 'd': 0.8} if k == 17 else {'a': 0.9, 'b': 0.04, 'c': 0.03, 'd': 0.03})
        if k == 100: state = json.loads(json.dumps(s.state_dict()))   # a checkpoint here
        seen.append(next(it))
    assert [p for p, _ in state['log']] == [0, 17, 66]
    # resume: fresh sampler, load state, the Trainer re-creates the epoch-2 iterator and skips what it has seen
    r = DomainSampler(DOMS, seed=3, num_samples=50)
    r.load_state_dict(state); r.set_epoch(2)
    assert list(r)[:20] == seen[100:120]
    r.set_epoch(0)
    assert list(r) == seen[:50]                                # the full past is replayed exactly
    assert sum(DOMS[i] == 'd' for i in seen[17:50]) > 15 and sum(DOMS[i] == 'a' for i in seen[70:100]) > 20


def test_sampler_bad_inputs():
    with pytest.raises(ValueError, match="only in training data: \\['d'\\]"): DomainSampler(DOMS, {'a': 1, 'b': 1, 'c': 1})
    s = DomainSampler(DOMS, seed=0, num_samples=10)
    with pytest.raises(ValueError, match="'seed': \\(0, 1\\)"): DomainSampler(DOMS, seed=1, num_samples=10).load_state_dict(s.state_dict())
    with pytest.raises(ValueError, match='sizes'): DomainSampler(DOMS + ['a'], seed=0, num_samples=10).load_state_dict(s.state_dict())
    assert DomainSampler.from_dataset([{'domain': 'x'}, {'domain': 'y'}]).names == ['x', 'y']


# ---------------------------------------------------------------- perplexity

@pytest.fixture(scope='module')
def tok(): return char_tokenizer()


def test_domain_perplexity_matches_hf_loss(tok):
    model = tiny_llama(len(tok), seed=0)
    recs = {'x': [{'input': 'abc', 'label': 'de'}], 'y': [{'input': 'hello world'}]}
    ppl = domain_perplexity(model, tok, recs)
    with torch.no_grad():
        for d in recs:
            loss = model(**lm_collator(tok)(recs[d])).loss
            assert abs(ppl[d] - math.exp(float(loss))) < 1e-3 * ppl[d]
    flat = [dict(r, domain=d) for d, rs in recs.items() for r in rs]
    assert domain_perplexity(model, tok, flat) == pytest.approx(ppl)
    assert group_by_domain(flat, max_per_domain=1) == {'x': [flat[0]], 'y': [flat[1]]}


def test_teacher_perplexity_cache(tok, tmp_path):
    model = tiny_llama(len(tok), seed=2)
    recs = toy_domain_records(2)
    p1 = cached_perplexity(model, tok, recs, tmp_path / 'c.json')
    cache = json.loads((tmp_path / 'c.json').read_text())
    key = next(iter(cache))
    cache[key] = {k: 99.0 for k in cache[key]}
    (tmp_path / 'c.json').write_text(json.dumps(cache))
    assert cached_perplexity(model, tok, recs, tmp_path / 'c.json') == {k: 99.0 for k in p1}           # read back
    assert cached_perplexity(tiny_llama(len(tok), seed=3), tok, recs, tmp_path / 'c.json') != {k: 99.0 for k in p1}  # other model


# ---------------------------------------------------------------- logit KD

def test_kd_loss_tiny_models(tok):
    col = lm_collator(tok)
    batch = col([{'input': 'abab', 'label': 'ab'}, {'input': 'what is 2+2', 'label': '4'}])
    s, t = tiny_llama(len(tok), seed=0), tiny_llama(len(tok), seed=1)
    so, to = s(**batch), t(**batch)
    loss, ce, kl = kd_loss(so.logits, to.logits, batch['labels'], gamma=0.2, T=1.0)
    assert torch.allclose(ce, so.loss, atol=1e-5)
    m = batch['labels'][:, 1:] != -100
    ls, lt = so.logits[:, :-1][m].log_softmax(-1), to.logits[:, :-1][m].log_softmax(-1)
    assert torch.allclose(kl, (ls.exp() * (ls - lt)).sum(-1).mean(), atol=1e-5)       # KL(student || teacher)
    assert torch.allclose(loss, ce + 0.2 * kl) and kl > 0
    ls2, lt2 = (so.logits[:, :-1][m] / 2).log_softmax(-1), (to.logits[:, :-1][m] / 2).log_softmax(-1)
    assert torch.allclose(kd_loss(so.logits, to.logits, batch['labels'], T=2.0)[2], (ls2.exp() * (ls2 - lt2)).sum(-1).mean(), atol=1e-5)
    assert float(kd_loss(so.logits, so.logits, batch['labels'])[2].detach()) == pytest.approx(0, abs=1e-6)
    hook = LogitKD(t, tok, char_tokenizer(name='same-chars'), gamma=0.2)
    extra = hook(s, batch, so)
    assert torch.allclose(extra, 0.2 * kl, atol=1e-5)
    extra.backward()
    assert s.lm_head.weight.grad is not None and all(p.grad is None for p in t.parameters())


def test_kd_cached_teacher(tok, tmp_path):
    batch = lm_collator(tok)([{'input': 'ab', 'label': 'cd'}, {'input': 'xyz', 'label': 'w'}])
    s, t = tiny_llama(len(tok), seed=0), tiny_llama(len(tok), seed=1)
    so = s(**batch)
    ref = LogitKD(t, tok, tok)(s, batch, so)
    hook = LogitKD(t, tok, tok, cache=tmp_path / 'kd')
    assert torch.allclose(hook(s, batch, so), ref, atol=1e-5)
    assert len(list((tmp_path / 'kd').glob('*.pt'))) == 2
    hook.teacher = None                                        # second epoch: served from the cache
    assert torch.allclose(hook(s, batch, so), ref, atol=1e-3)


def test_kd_refuses_other_tokenizer(tok):
    other = char_tokenizer('abcdefghij', name='ten-letters')
    with pytest.raises(TokenizerMismatch) as e: LogitKD(tiny_llama(len(other)), tok, other)
    msg = str(e.value)
    assert 'student tokenizer char-tokenizer' in msg and 'teacher tokenizer ten-letters' in msg
    check_same_tokenizer(tok, char_tokenizer())                # an identical tokenizer is accepted


# ---------------------------------------------------------------- Trainer callback, checkpoint and resume

class _StopAt(TrainerCallback):
    def __init__(self, step): self.step = step
    def on_step_end(self, args, state, control, **kw):
        if state.global_step >= self.step: control.should_training_stop = True


def _run(out, stop_at=None, resume=False, grad_accum=1):
    "A toy DDK run through `ddk_train` (tiny Llamas, KD on): 9 steps, DDK every 2, checkpoints every 4."
    import transformers; transformers.logging.set_verbosity_error()
    from stepdistill_nb.data import save_examples
    from stepdistill_nb.ddk import ddk_train
    from stepdistill_nb.training import load_student
    data = Path(out).parent / 'toy'
    if not data.exists():
        data.mkdir(); save_examples(toy_domain_records(10, seed=0), data / 'train.jsonl')
        save_examples(toy_domain_records(3, seed=1, prefix='val-'), data / 'valid.jsonl')
    return ddk_train(str(data / 'train.jsonl'), load_student('tiny-llama', seed=1), out=str(out), student='tiny-llama',
                     valid=str(data / 'valid.jsonl'), ddk_interval=2, kd_gamma=0.2, batch_size=3, grad_accum=grad_accum, max_steps=9,
                     eval_steps=4, max_target_len=8, max_rationale_len=8, lr=3e-3, progress=False, plot=False, resume=resume,
                     callbacks=[_StopAt(stop_at)] if stop_at else None)


@pytest.mark.parametrize('grad_accum', [1, 2])
def test_callback_resume_keeps_schedule(tmp_path, grad_accum):
    _run(tmp_path / 'A', grad_accum=grad_accum)
    _run(tmp_path / 'B', stop_at=4, grad_accum=grad_accum)
    state = json.loads((tmp_path / 'B' / 'checkpoints' / 'checkpoint-4' / DDK_STATE).read_text())   # what the resume starts from
    assert [e['step'] for e in state['history']] == [0, 2, 4] and state['sampler']['seed'] == 0
    _run(tmp_path / 'B', resume=True, grad_accum=grad_accum)
    ha, hb = read_ddk_log(tmp_path / 'A'), read_ddk_log(tmp_path / 'B')   # the log is rewritten on resume: no duplicates
    assert [e['step'] for e in ha] == [0, 2, 4, 6, 8] == [e['step'] for e in hb]
    assert [e['position'] for e in ha] == [e['position'] for e in hb]   # the sampler continued where it stopped
    for ea, eb in zip(ha, hb):
        np.testing.assert_allclose(list(ea['weights'].values()), list(eb['weights'].values()), atol=1e-4)
        assert set(ea['student_ppl']) == {'easy', 'mid', 'hard'}
    keys = [k for h in json.loads((tmp_path / 'B' / 'log_history.json').read_text()) for k in h if k.startswith('ddk/')]
    assert {'ddk/weight/hard', 'ddk/ppl/easy', 'ddk/gap/mid'} <= set(keys)
    assert (tmp_path / 'B' / 'ddk.png').stat().st_size > 1000


def test_resume_without_state_is_an_error(tmp_path):
    _run(tmp_path / 'C', stop_at=4)
    (tmp_path / 'C' / 'checkpoints' / 'checkpoint-4' / DDK_STATE).unlink()
    with pytest.raises(FileNotFoundError, match='no DDK state to resume from'): _run(tmp_path / 'C', resume=True)


def test_callback_checks_domains(tok):
    s = DomainSampler(['a', 'b'])
    with pytest.raises(ValueError, match="only in training data: \\['b'\\]"):
        DDKCallback().attach(s, tok, {'a': [{'input': 'x'}]}, {'a': 1.0, 'b': 1.0})
    with pytest.raises(ValueError, match='teacher_ppl'):
        DDKCallback().attach(s, tok, {'a': [{'input': 'x'}], 'b': [{'input': 'y'}]}, {'a': 1.0})


def test_plot(tmp_path):
    hist = [dict(step=k, weights={'a': 0.5 + k / 100, 'b': 0.5 - k / 100}, gap={'a': 2 - k / 10, 'b': 1.0}) for k in range(0, 10, 2)]
    plot_ddk(hist, tmp_path / 'p.png')
    assert (tmp_path / 'p.png').stat().st_size > 1000
    with pytest.raises(ValueError, match='no DDK updates'): plot_ddk([])


# ---------------------------------------------------------------- the step-by-step trainer

# (DDK inside the step-by-step trainer, its resume and `domain_accuracy` are tested in the DDK notebook.)
def test_ddk_train_refuses_before_training(tmp_path):
    from stepdistill_nb.ddk import ddk_train
    from stepdistill_nb.data import save_examples
    save_examples(toy_domain_records(8, seed=0), tmp_path / 'train.jsonl')
    save_examples(toy_domain_records(2, seed=1, prefix='val-'), tmp_path / 'valid.jsonl')
    with pytest.raises(ValueError, match='needs a teacher'):
        ddk_train(str(tmp_path / 'train.jsonl'), None, out=str(tmp_path / 'D'), student='tiny-llama', max_steps=1)
    # KD refuses a teacher with another tokenizer, before training
    other = (tiny_llama(len(char_tokenizer())), char_tokenizer())
    with pytest.raises(TokenizerMismatch, match='teacher tokenizer char-tokenizer'):
        ddk_train(str(tmp_path / 'train.jsonl'), other, out=str(tmp_path / 'C'), student='tiny-llama', valid=str(tmp_path / 'valid.jsonl'),
                  ddk_interval=2, kd_gamma=0.2, max_steps=2, progress=False, plot=False)
    assert not (tmp_path / 'C' / 'stepdistill.json').exists()


def test_train_command_with_ddk(tmp_path):
    "`stepdistill train ... --ddk --ddk-teacher ...` runs DDK sampling and logit KD from the command line."
    import subprocess, sys
    from stepdistill_nb.data import save_examples
    save_examples(toy_domain_records(6, seed=0), tmp_path / 'train.jsonl')
    save_examples(toy_domain_records(2, seed=1, prefix='val-'), tmp_path / 'valid.jsonl')
    cmd = [str(Path(sys.executable).parent / 'stepdistill'), 'train', str(tmp_path / 'train.jsonl'), '--student', 'tiny-llama',
           '--valid', str(tmp_path / 'valid.jsonl'), '--out', str(tmp_path / 'run'), '--max-steps', '4', '--batch-size', '4',
           '--eval-steps', '2', '--max-target-len', '8', '--max-rationale-len', '8', '--no-plot', '--json']
    r = subprocess.run(cmd + ['--ddk', '--ddk-teacher', 'tiny-llama', '--ddk-interval', '2', '--ddk-smoothing', '0.3', '--kd-gamma', '0.2'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    log = read_ddk_log(tmp_path / 'run')
    assert [e['step'] for e in log] == [0, 2, 4] and set(log[-1]['weights']) == {'easy', 'mid', 'hard'}
    assert json.loads(r.stdout.strip().splitlines()[-1])['global_step'] == 4
    r = subprocess.run(cmd[:-6] + ['--out', str(tmp_path / 'x'), '--kd-gamma', '0.2'], capture_output=True, text=True)
    assert r.returncode != 0 and '--kd-gamma needs --ddk' in r.stderr
    r = subprocess.run(cmd[:-6] + ['--out', str(tmp_path / 'y'), '--ddk'], capture_output=True, text=True)
    assert r.returncode != 0 and '--ddk needs --ddk-teacher' in r.stderr


def test_valid_domain_absent_from_training_is_not_scored(tmp_path):
    "A small training set may miss a domain that validation has: DDK warns, scores the domains it can sample, and trains."
    from stepdistill_nb.ddk import ddk_train
    from stepdistill_nb.data import save_examples
    from stepdistill_nb.training import load_student
    save_examples([r for r in toy_domain_records(6, seed=0) if r['domain'] != 'hard'], tmp_path / 'train.jsonl')
    save_examples(toy_domain_records(2, seed=1, prefix='val-'), tmp_path / 'valid.jsonl')
    with pytest.warns(UserWarning, match=r"absent from the training data are not scored: \['hard'\]"):
        res = ddk_train(str(tmp_path / 'train.jsonl'), load_student('tiny-llama', seed=1), out=str(tmp_path / 'A'), student='tiny-llama',
                        valid=str(tmp_path / 'valid.jsonl'), ddk_interval=1, batch_size=4, max_steps=2, max_target_len=8,
                        max_rationale_len=8, progress=False, plot=False)
    log = read_ddk_log(tmp_path / 'A')
    assert res['global_step'] == 2 and log and all(set(e['weights']) == {'easy', 'mid'} for e in log)


def test_accuracy_gap_compares_error_rates(tmp_path):
    "`--ddk-gap accuracy`: both models generate the held-out labels; the gaps are smoothed error-rate ratios, the teacher's cached."
    import subprocess, sys
    from stepdistill_nb.data import save_examples
    save_examples(toy_domain_records(6, seed=0), tmp_path / 'train.jsonl')
    save_examples(toy_domain_records(2, seed=1, prefix='val-'), tmp_path / 'valid.jsonl')
    cmd = [str(Path(sys.executable).parent / 'stepdistill'), 'train', str(tmp_path / 'train.jsonl'), '--student', 'tiny-llama',
           '--valid', str(tmp_path / 'valid.jsonl'), '--max-steps', '2', '--batch-size', '4', '--eval-steps', '2', '--max-target-len', '8',
           '--max-rationale-len', '8', '--no-plot', '--ddk', '--ddk-teacher', 'tiny-llama', '--ddk-interval', '1']
    r = subprocess.run(cmd + ['--out', str(tmp_path / 'run'), '--ddk-gap', 'accuracy'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    log = read_ddk_log(tmp_path / 'run')
    assert [e['step'] for e in log] == [0, 1, 2] and {e['unit'] for e in log} == {'error rate'}
    for e in log:   # 2 held-out records per domain: (wrong + 1) / 4, so 1/4, 2/4 or 3/4
        assert all(v in (0.25, 0.5, 0.75) for v in [*e['student_ppl'].values(), *e['teacher_ppl'].values()]), e
        assert all(abs(e['gap'][d] - e['student_ppl'][d] / e['teacher_ppl'][d]) < 1e-9 for d in e['gap'])
    assert (tmp_path / 'run' / 'ddk_cache' / 'ddk_teacher_errors.json').exists()
    r = subprocess.run(cmd + ['--out', str(tmp_path / 'x'), '--ddk-gap', 'bleu'], capture_output=True, text=True)
    assert r.returncode == 2 and '--ddk-gap must be one of perplexity, accuracy' in r.stderr, r.stderr


def test_gap_units_follow_the_tokenizers(tmp_path):
    "Same tokenizer: the paper's per-token gap. A teacher with another tokenizer (characters): both perplexities per byte."
    from stepdistill_nb.ddk import ddk_train
    from stepdistill_nb.data import save_examples
    from stepdistill_nb.training import load_student
    save_examples(toy_domain_records(6, seed=0), tmp_path / 'train.jsonl')
    save_examples(toy_domain_records(2, seed=1, prefix='val-'), tmp_path / 'valid.jsonl')
    kw = dict(valid=str(tmp_path / 'valid.jsonl'), ddk_interval=2, batch_size=4, max_steps=2, max_target_len=8, max_rationale_len=8,
              progress=False, plot=False)
    ctok = char_tokenizer()
    for name, teacher, unit in (('same', load_student('tiny-llama', seed=1), 'token'), ('chars', (tiny_llama(len(ctok)), ctok), 'byte')):
        ddk_train(str(tmp_path / 'train.jsonl'), teacher, out=str(tmp_path / name), student='tiny-llama', **kw)
        log = read_ddk_log(tmp_path / name)
        assert log and {e['unit'] for e in log} == {unit}, (name, [e.get('unit') for e in log])


def test_ddk_scores_the_targets_the_student_trains_on(tmp_path):
    "A standard (label-only) run: DDK's perplexities are over the label task only, as the student is trained; the gaps' divisor is logged."
    from stepdistill_nb.ddk import ddk_train, domain_perplexity, group_by_domain, task_collator
    from stepdistill_nb.data import save_examples, load_examples
    from stepdistill_nb.training import TaskFormat, load_student
    save_examples(toy_domain_records(6, seed=0), tmp_path / 'train.jsonl')
    save_examples(toy_domain_records(2, seed=1, prefix='val-'), tmp_path / 'valid.jsonl')
    teacher = load_student('tiny-llama', seed=1)
    ddk_train(str(tmp_path / 'train.jsonl'), teacher, out=str(tmp_path / 'A'), student='tiny-llama', mode='standard',
              valid=str(tmp_path / 'valid.jsonl'), ddk_interval=2, ddk_temperature=0, batch_size=4, max_steps=2, max_target_len=8,
              max_rationale_len=8, progress=False, plot=False)
    log = read_ddk_log(tmp_path / 'A')
    held = group_by_domain(list(load_examples(tmp_path / 'valid.jsonl')), 64)
    fmt = TaskFormat(False, max_target_len=8, max_rationale_len=8)
    want = {m: domain_perplexity(teacher[0], task_collator(teacher[1], fmt, m), held) for m in ('standard', 'step-by-step')}
    for d, v in log[0]['teacher_ppl'].items():
        assert abs(v - want['standard'][d]) < 1e-4 * v and abs(v - want['step-by-step'][d]) > 1e-3 * v, (d, v, want)
    fct.test_close(log[0]['temperature'], sum(log[0]['gap'].values()) / len(log[0]['gap']), eps=1e-5)   # 0: the mean gap
