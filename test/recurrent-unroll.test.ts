/**
 * The unroll owns time: last output vs all, reverse direction, masks for padded batches,
 * stacked layers (forward and hand BPTT), NaN/Inf detection, and memory: forward,
 * backward and training steps leave tf.memory().numTensors unchanged.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { SIZES, assertNoTensorLeaks, expectNoLeak, makeData, maxAbsDiff, values } from "./recurrent-helpers";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

describe("unroll, stacked layers, NaN/Inf checks and memory", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();
  const { T, B, I, H, K } = SIZES;

  it("returnSequences: false gives only the final state, which is the last output", () => {
    const data = makeData(SIZES);
    const p = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 1 });
    const all = seqlab.unroll(seqlab.lstmCell, p, data.x);
    const last = expectNoLeak("unroll (last)", () => seqlab.unroll(seqlab.lstmCell, p, data.x, { returnSequences: false }));
    assert.deepEqual(Object.keys(last), ["state"]);
    const lastSlice = tf.slice(all.outputs, [0, T - 1, 0], [B, 1, H]);
    const lastOut = values(lastSlice);
    lastSlice.dispose();
    assert.equal(maxAbsDiff(values(last.state.h), lastOut), 0);
    assert.equal(maxAbsDiff(values(last.state.s), values(all.state.s)), 0);
    seqlab.disposeAll(p, all, last);
    data.dispose();
  });

  it("reverse = the forward unroll of the time-reversed input, outputs kept in input order", () => {
    const data = makeData(SIZES);
    const p = seqlab.initGru({ inputSize: I, hiddenSize: H, seed: 2 });
    const rev = seqlab.unroll(seqlab.gruCell, p, data.x, { reverse: true, initialState: { h: data.h0 } });
    const flipped = tf.reverse(data.x, 1) as Tensor3D;
    const fwd = seqlab.unroll(seqlab.gruCell, p, flipped, { initialState: { h: data.h0 } });
    const back = tf.reverse(fwd.outputs, 1);
    assert.ok(maxAbsDiff(values(rev.outputs), values(back)) < 1e-6);
    assert.ok(maxAbsDiff(values(rev.state.h), values(fwd.state.h)) < 1e-6);
    const forward = seqlab.unroll(seqlab.gruCell, p, data.x, { initialState: { h: data.h0 } });
    assert.ok(maxAbsDiff(values(rev.outputs), values(forward.outputs)) > 1e-3, "direction matters");
    seqlab.disposeAll(p, rev, flipped, fwd, back, forward);
    data.dispose();
  });

  for (const reverse of [false, true]) {
    it(`mask${reverse ? " + reverse" : ""}: padded steps output 0, the state carries over, the final state is that of the real steps`, () => {
      const data = makeData(SIZES);
      const p = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 3 });
      const lengths = [T, 2];
      const mask = tf.tensor2d(lengths.map((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)))) as Tensor2D;
      const init = { h: data.h0, s: data.s0 };
      const r = seqlab.unroll(seqlab.lstmCell, p, data.x, { mask, reverse, initialState: init });
      const out = r.outputs.arraySync();
      // Sequence 1 alone, cut to its length 2.
      const short = tf.tidy(() => {
        const x1 = tf.slice(data.x, [1, 0, 0], [1, 2, I]) as Tensor3D;
        const h1 = tf.slice(data.h0, [1, 0], [1, H]) as Tensor2D;
        const s1 = tf.slice(data.s0, [1, 0], [1, H]) as Tensor2D;
        const alone = seqlab.unroll(seqlab.lstmCell, p, x1, { reverse, initialState: { h: h1, s: s1 } });
        return { outputs: alone.outputs.arraySync()[0], h: alone.state.h.arraySync()[0], s: alone.state.s.arraySync()[0] };
      });
      for (let t = 2; t < T; t++) assert.equal(maxAbsDiff(out[1][t], new Array(H).fill(0)), 0, `t=${t} is padding`);
      for (let t = 0; t < 2; t++) assert.ok(maxAbsDiff(out[1][t], short.outputs[t]) < 1e-6, `t=${t}`);
      assert.ok(maxAbsDiff(r.state.h.arraySync()[1], short.h) < 1e-6);
      assert.ok(maxAbsDiff(r.state.s.arraySync()[1], short.s) < 1e-6);
      // Sequence 0 (full length) is unaffected by the mask.
      const full = seqlab.unroll(seqlab.lstmCell, p, data.x, { reverse, initialState: init });
      assert.ok(maxAbsDiff(out[0].flat(), full.outputs.arraySync()[0].flat()) < 1e-6);
      seqlab.disposeAll(p, mask, r, full);
      data.dispose();
    });
  }

  describe("stacked layers", () => {
    function makeStack(seed: number) {
      return [
        seqlab.layer(seqlab.lstmCell, seqlab.initLstm({ inputSize: I, hiddenSize: H, seed })),
        seqlab.layer(seqlab.gruCell, seqlab.initGru({ inputSize: H, hiddenSize: 4, seed: seed + 1 })),
        seqlab.layer(seqlab.rnnCell, seqlab.initRnn({ inputSize: 4, hiddenSize: 3, seed: seed + 2 })),
      ];
    }
    it("= unrolling each layer on the outputs of the one below", () => {
      const data = makeData(SIZES);
      const stack = makeStack(4);
      const r = expectNoLeak("unrollStacked", () => seqlab.unrollStacked(stack, data.x));
      assert.equal(r.states.length, 3);
      const manual = tf.tidy(() => {
        const a = seqlab.unroll(seqlab.lstmCell, stack[0].params, data.x).outputs;
        const b = seqlab.unroll(seqlab.gruCell, stack[1].params, a).outputs;
        return seqlab.unroll(seqlab.rnnCell, stack[2].params, b).outputs;
      });
      assert.deepEqual(r.outputs.shape, [B, T, 3]);
      assert.equal(maxAbsDiff(values(r.outputs), values(manual)), 0);
      seqlab.disposeAll(
        stack.map((l) => l.params),
        r,
        manual,
      );
      data.dispose();
    });
    for (const options of [{}, { reverse: true }, { maskLengths: [T, 3] }]) {
      it(`hand BPTT through the stack = tf.grads (fused: false) = tf.grads through the fused kernels ${JSON.stringify(options)}`, () => {
        const data = makeData(SIZES);
        const stack = makeStack(5);
        const ro = seqlab.initReadout({ hiddenSize: 3, classes: K, seed: 9 });
        const lengths = "maskLengths" in options ? options.maskLengths : undefined;
        const mask = lengths
          ? (tf.tensor2d(lengths.map((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)))) as Tensor2D)
          : undefined;
        const opts = { mask, reverse: "reverse" in options };
        const hand = expectNoLeak("stacked forward + backward", () => {
          const tapes = internal.unrollStackedWithTape(stack, data.x, opts);
          const g = tf.tidy(() => {
            const top = tapes[tapes.length - 1].outputs;
            return seqlab.readoutBackward(ro, top, seqlab.readout(ro, top), data.y, mask);
          });
          const back = internal.backwardStacked(stack, tapes, g.dh);
          seqlab.disposeAll(tapes, g.dh, g.dc);
          return { back, dV: g.dV };
        });
        const flat = stack.flatMap((l) => Object.values(l.params) as seqlab.tf.Tensor[]);
        // tf.grads through tfjs ops is autodiff; through the fused kernels it calls their hand-written backward.
        const gradsBy = (fused: boolean | undefined) => {
          const f = (...ts: seqlab.tf.Tensor[]) => {
            let k = 0;
            const layers = stack.map((l) => ({
              cell: l.cell,
              params: Object.fromEntries(Object.keys(l.params).map((name) => [name, ts[k++]])),
            }));
            const { outputs } = seqlab.unrollStacked(layers as unknown as typeof stack, ts[k] as Tensor3D, { ...opts, fused });
            return seqlab.sequenceLoss(seqlab.readout({ V: ts[k + 1] as Tensor2D, c: ro.c }, outputs), data.y, mask);
          };
          return tf.grads(f)([...flat, data.x, ro.V]);
        };
        const auto = gradsBy(false);
        internal.resetFusedProfile();
        const fused = gradsBy(undefined);
        assert.ok(internal.fusedProfile().backwardCalls > 0, "the default stack runs the fused kernels");
        const handFlat = hand.back.grads.flatMap((g) => Object.values(g) as seqlab.tf.Tensor[]);
        for (const [how, other] of Object.entries({ "fused: false": auto, fused })) {
          handFlat.forEach((g, j) => assert.ok(seqlab.scaledError(values(g), values(other[j])) < 1e-5, `${how}: parameter ${j}`));
          assert.ok(seqlab.scaledError(values(hand.back.dx), values(other[flat.length])) < 1e-5, `${how}: x`);
          assert.ok(seqlab.scaledError(values(hand.dV), values(other[flat.length + 1])) < 1e-5, `${how}: V`);
        }
        assert.equal(hand.back.dhNorms.length, 3);
        seqlab.disposeAll(
          stack.map((l) => l.params),
          ro,
          mask,
          hand,
          auto,
          fused,
        );
        data.dispose();
      });
    }
  });

  describe("NaN/Inf detection (checkFinite) says which timestep and which tensor", () => {
    it("forward: a NaN in x(2)", () => {
      const data = makeData(SIZES);
      const p = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 6 });
      const x = tf.tidy(() => {
        const bad = data.x.arraySync();
        bad[1][2][0] = NaN;
        return tf.tensor3d(bad);
      });
      const before = tf.memory().numTensors;
      assert.throws(
        () => seqlab.unroll(seqlab.lstmCell, p, x, { checkFinite: true }),
        (e: unknown) => {
          assert.ok(e instanceof seqlab.NonFiniteError);
          assert.equal(e.pass, "forward");
          assert.equal(e.t, 2);
          assert.equal(e.tensor, "x");
          assert.deepEqual(e.index, [1, 0]);
          assert.match(e.message, /^lstm forward: NaN in x at timestep t=2 \(index \[1, 0\] of shape \[2, 3\]/);
          return true;
        },
      );
      assert.equal(tf.memory().numTensors, before, "the failed pass must not leak");
      // Without checkFinite, one reduction at the door still reports it (without the timestep).
      assert.throws(() => seqlab.unroll(seqlab.lstmCell, p, x), /unroll\(lstm\): x\[1, 2, 0\] is NaN/);
      assert.equal(tf.memory().numTensors, before, "the refused call must not leak");
      seqlab.disposeAll(p, x);
      data.dispose();
    });
    it("forward: an infinite h0 turns the first gate into NaN at t=0", () => {
      const data = makeData(SIZES);
      const p = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 7 });
      const h0 = tf.tidy(() => tf.mul(tf.fill([B, H], Infinity), tf.tensor1d([1, -1, 1, -1, 1]))) as Tensor2D;
      assert.throws(
        () => seqlab.unroll(seqlab.lstmCell, p, data.x, { checkFinite: true, initialState: { h: h0 } }),
        /^NonFiniteError: lstm forward: NaN in i at timestep t=0|lstm forward: NaN in i at timestep t=0/,
      );
      seqlab.disposeAll(p, h0);
      data.dispose();
    });
    it("backward: an infinite upstream gradient at t=1, and in reverse", () => {
      const data = makeData(SIZES);
      const p = seqlab.initGru({ inputSize: I, hiddenSize: H, seed: 8 });
      for (const reverse of [false, true]) {
        const tape = seqlab.unrollWithTape(seqlab.gruCell, p, data.x, { reverse });
        const dOut = tf.tidy(() => {
          const d = tf.zeros([B, T, H]).arraySync() as number[][][];
          d[0][1][3] = Infinity;
          return tf.tensor3d(d);
        });
        const before = tf.memory().numTensors;
        assert.throws(
          () => seqlab.backwardThroughTime(seqlab.gruCell, p, tape, dOut, {}, { checkFinite: true }),
          (e: unknown) => {
            assert.ok(e instanceof seqlab.NonFiniteError);
            assert.equal(e.pass, "backward");
            // Forward direction: the Inf enters at t=1 and is seen first there (steps t=3, 2 are clean).
            // Reverse: t=1 is run after t=0 forward-wise, so backward visits it before t=0 — also t=1.
            assert.equal(e.t, 1);
            assert.equal(e.tensor, "∂L/∂h");
            assert.match(e.message, /gru backward: Infinity in ∂L\/∂h at timestep t=1/);
            return true;
          },
        );
        assert.equal(tf.memory().numTensors, before, "the failed pass must not leak");
        seqlab.disposeAll(tape, dOut);
      }
      seqlab.disposeAll(p);
      data.dispose();
    });
  });

  describe("RecurrentLayer.step (a decoder's one step)", () => {
    for (const cell of ["rnn", "lstm", "gru", "gru-pytorch"] as const) {
      it(`${cell}: outside a gradient tape one fused op, equal to the cell's own step; under tf.grad the cell's own step`, async () => {
        const layer = new seqlab.RecurrentLayer({ cell, inputSize: I, hiddenSize: H, seed: 3 });
        const rng = new seqlab.Rng(5);
        const normal = (shape: number[]) =>
          tf.tensor(
            Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
            shape,
          );
        const x = normal([B, I]) as Tensor2D;
        const prev = Object.fromEntries(layer.stateKeys.map((k) => [k, normal([B, H])])) as seqlab.AnyState;
        const reference = tf.tidy(() => {
          const out = layer.cell.step(layer.params, x, prev) as unknown as Record<string, Tensor2D>;
          return Object.fromEntries(layer.stateKeys.map((k) => [k, out[k]]));
        });
        let stepped: Record<string, Tensor2D> = {};
        const profile = await tf.profile(() => {
          stepped = layer.step(x, prev) as Record<string, Tensor2D>;
        });
        const kernels = profile.kernels.map((k) => k.name);
        assert.deepEqual(
          kernels.filter((n) => n.startsWith("unroll(")),
          [`unroll(${cell}, fused)`],
          `kernels: ${kernels.join(" ")}`,
        );
        // besides it: x's reshape, a slice and reshape per state tensor, and one Sum per input (the NaN check)
        const others = kernels.filter((n) => n !== "Sum" && !n.startsWith("unroll("));
        assert.ok(others.length <= 1 + 2 * layer.stateKeys.length, `kernels: ${kernels.join(" ")}`);
        assert.deepEqual(Object.keys(stepped), [...layer.stateKeys]);
        for (const k of layer.stateKeys) {
          assert.deepEqual(stepped[k].shape, [B, H]);
          assert.ok(maxAbsDiff(values(stepped[k]), values(reference[k])) < 1e-5, `${cell} ${k}`);
        }
        // Under a tape: the cell's own ops (no fused op), so ∂h/∂x is the cell's autodiff exactly.
        const grad = (f: (x: Tensor2D) => seqlab.tf.Tensor) => tf.grad((xx) => tf.sum(f(xx as Tensor2D)))(x);
        let gStep: seqlab.tf.Tensor | undefined;
        const taped = await tf.profile(() => {
          gStep = grad((xx) => layer.step(xx, prev).h);
        });
        assert.ok(!taped.kernels.some((k) => k.name.startsWith("unroll(")), taped.kernels.map((k) => k.name).join(" "));
        const gCell = grad((xx) => (layer.cell.step(layer.params, xx, prev) as unknown as Record<string, Tensor2D>).h);
        assert.equal(maxAbsDiff(values(gStep!), values(gCell)), 0);
        // a state without one of its tensors is refused (the fused path would start it at zero)
        if (layer.stateKeys.includes("s"))
          assert.throws(
            () => layer.step(x, { h: prev.h } as seqlab.AnyState),
            /RecurrentLayer\.step: prev has no s; the lstm state is \{h, s\}/,
          );
        seqlab.disposeAll(x, prev, reference, stepped, gStep!, gCell);
        layer.dispose();
      });
    }
  });

  describe("memory", () => {
    it("forward, backward and 5 training steps (hand BPTT + SGD on tf.Variables) leave numTensors unchanged, and L falls", () => {
      const data = makeData(SIZES);
      const init = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 10 });
      const p = Object.fromEntries(
        Object.entries(init).map(([k, v]) => [k, tf.variable(v as seqlab.tf.Tensor)]),
      ) as unknown as seqlab.LstmParams;
      const ro0 = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 11 });
      const ro = { V: tf.variable(ro0.V), c: tf.variable(ro0.c) } as unknown as seqlab.ReadoutParams;
      seqlab.disposeAll(init, ro0);
      const start = tf.memory().numTensors;
      const tape = seqlab.unrollWithTape(seqlab.lstmCell, p, data.x);
      const back = seqlab.backwardThroughTime(seqlab.lstmCell, p, tape, null, { h: data.wh });
      seqlab.disposeAll(tape, back);
      assert.equal(tf.memory().numTensors, start, "forward + backward");
      const losses: number[] = [];
      for (let step = 0; step < 5; step++) {
        const g = seqlab.handGradients(seqlab.lstmCell, p, ro, data.x, data.y);
        losses.push(g.loss);
        tf.tidy(() => {
          for (const [k, v] of Object.entries(p))
            (v as seqlab.tf.Variable).assign(
              tf.sub(v as seqlab.tf.Tensor, tf.mul(0.05, (g.grads as unknown as Record<string, seqlab.tf.Tensor>)[k])),
            );
          (ro.V as seqlab.tf.Variable).assign(tf.sub(ro.V, tf.mul(0.05, g.readoutGrads.V)));
          (ro.c as seqlab.tf.Variable).assign(tf.sub(ro.c, tf.mul(0.05, g.readoutGrads.c)));
        });
        seqlab.disposeAll(g);
        assert.equal(tf.memory().numTensors, start, `training step ${step}`);
      }
      assert.ok(losses[4] < losses[0], `L should fall: ${losses.join(", ")}`);
      seqlab.disposeAll(p, ro);
      data.dispose();
    });
  });
});
