"""Triton kernels of the Elman, LSTM and GRU recurrences fused over time: a persistent grid with a grid-wide barrier per
step, the recurrent weight split across programs and kept on chip (docs/kernels.md#nonlinear-rnns)."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.backend import launchable
from kernels.rnn.naive import GATES
from kernels.rnn.projection import tensor_cores

_CELLS = {"elman": 0, "lstm": 1, "gru": 2}
PRECISIONS = ("ieee", "tf32", "bf16")
"""Products h W_hh^T: "ieee" fp32 (exact constructions stay exact), "tf32" or "bf16" tensor cores."""
SLICE_BYTES = 64 * 1024
"""Largest slice of W_hh^T one forward program keeps on chip (Triton places it in shared memory)."""
BACKWARD_UNITS = 16
"""Hidden units per program in the backward pass (the product's N: at least 16 for tl.dot)."""
TUNE_MIN_STEPS = 256
"""Sequences at least this long time the candidate layouts on first use (per cell, size, precision, rows)."""
TUNE_MAX_SLICE = 128 * 1024
"""Largest weight slice a timed candidate layout may keep in one program."""
TUNE_CANDIDATES = 4
"""Candidate units per program timed on first use: the default and the next narrower powers of two."""
TUNED: dict[tuple, dict[int, float]] = {}
"""(pass, cell, hidden, precision, rows, device) -> {units per program: ms of one launch}; min is used."""


@triton.jit
def _sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def _tanh(x):
    return 2.0 / (1.0 + tl.exp(-2.0 * x)) - 1.0


@triton.jit
def _operand(x, DOT: tl.constexpr):
    """x as a product operand: bfloat16 in the bf16 mode, else unchanged float32."""
    if DOT == "bf16":
        return x.to(tl.bfloat16)
    else:
        return x


@triton.jit
def _mm(a, b, DOT: tl.constexpr):
    """a @ b with fp32 accumulation: bf16 operands, or fp32 ones at input precision DOT."""
    if DOT == "bf16":
        return tl.dot(a.to(tl.bfloat16), b)
    else:
        return tl.dot(a, b, input_precision=DOT)


@triton.jit
def _arrive(sync_ptr):
    """Count this program in (after all its threads' stores: CTA barrier, then a gpu-scope release)."""
    tl.debug_barrier()
    tl.atomic_add(sync_ptr, 1, sem="release", scope="gpu")


@triton.jit
def _wait(sync_ptr, target):
    """Thread 0 spins with acquire loads until the counter reaches target (every program arrived that
    often); the CTA barrier after it holds the other threads (one poller per program, as CUTLASS's
    GenericBarrier does)."""
    tl.inline_asm_elementwise(
        "{ .reg .pred %wp0, %wp1; .reg .b32 %wt, %wv; mov.u32 %wt, %tid.x; setp.ne.u32 %wp0, %wt, 0; "
        "mov.u32 $0, 0; @%wp0 bra WAIT_DONE_${:uid}; WAIT_LOOP_${:uid}: ld.global.acquire.gpu.b32 %wv, [$1]; "
        "setp.lt.s32 %wp1, %wv, $2; @%wp1 bra WAIT_LOOP_${:uid}; WAIT_DONE_${:uid}: }",
        "=r,l,r", [sync_ptr, target], dtype=tl.int32, is_pure=False, pack=1)
    tl.debug_barrier()


@triton.jit
def _forward_kernel(
    xp_ptr, w_ptr, bias_ptr, h0_ptr, c0_ptr, h_ptr, c_ptr, act_ptr, cT_ptr, sync_ptr,
    B, T,
    H: tl.constexpr, G: tl.constexpr, GP: tl.constexpr, CELL: tl.constexpr,
    HP: tl.constexpr, HB: tl.constexpr, BB: tl.constexpr, P: tl.constexpr,
    DOT: tl.constexpr, SAVE: tl.constexpr,
):
    """gates_t = xp_t + h_{t-1} W_hh^T + b_hh for this program's HB units, all gates in one product."""
    p = tl.program_id(0)
    n = tl.program_id(1)
    N: tl.constexpr = HB * GP
    rb = n * BB + tl.arange(0, BB)
    rk = tl.arange(0, HP)
    rn = tl.arange(0, N)
    ru = p * HB + tl.arange(0, HB)
    mb, mk, mu = rb < B, rk < H, ru < H
    m_bk = mb[:, None] & mk[None, :]
    m_bu = mb[:, None] & mu[None, :]
    w = _operand(tl.load(w_ptr + rk[:, None] * (P * N) + p * N + rn[None, :]), DOT)
    bias = tl.load(bias_ptr + p * N + rn)
    gate, unit = rn % GP, p * HB + rn // GP
    x_cols = gate * H + unit
    XG: tl.constexpr = 2 if CELL == 2 else G
    m_x = mb[:, None] & ((unit < H) & (gate < XG))[None, :]
    row64 = rb.to(tl.int64)[:, None]
    hp = tl.load(h0_ptr + rb[:, None] * H + rk[None, :], mask=m_bk, other=0.0)
    hn = tl.load(h0_ptr + rb[:, None] * H + ru[None, :], mask=m_bu, other=0.0)
    c = tl.load(c0_ptr + rb[:, None] * H + ru[None, :], mask=m_bu, other=0.0)
    x_next = tl.load(xp_ptr + row64 * T * (G * H) + x_cols[None, :], mask=m_x & (rb[:, None] * 0 + T > 0), other=0.0)
    xn_next = tl.zeros((BB, HB), tl.float32)
    if CELL == 2:
        xn_next = tl.load(xp_ptr + row64 * T * (G * H) + 2 * H + ru[None, :], mask=m_bu & (rb[:, None] * 0 + T > 0),
                          other=0.0)
    for t in range(T):
        pre = _mm(hp, w, DOT) + bias[None, :] + x_next
        xn = xn_next
        if GP == 1:
            hn = _tanh(pre)
        else:
            quad = tl.reshape(pre, (BB, HB, 2, 2))
            even, odd = tl.split(quad)
            g0, g2 = tl.split(even)
            g1, g3 = tl.split(odd)
            if CELL == 1:
                ig, fg, gg, og = _sigmoid(g0), _sigmoid(g1), _tanh(g2), _sigmoid(g3)
                c = fg * c + ig * gg
                hn = og * _tanh(c)
            else:
                ig, fg, og = _sigmoid(g0), _sigmoid(g1), g2
                gg = _tanh(xn + ig * og)
                hn = (1.0 - fg) * gg + fg * hn
            if SAVE:
                s_at = act_ptr + (row64 * T + t) * (4 * H) + ru[None, :]
                tl.store(s_at, ig, mask=m_bu)
                tl.store(s_at + H, fg, mask=m_bu)
                tl.store(s_at + 2 * H, gg, mask=m_bu)
                tl.store(s_at + 3 * H, og, mask=m_bu)
                if CELL == 1:
                    tl.store(c_ptr + (row64 * T + t) * H + ru[None, :], c, mask=m_bu)
        tl.store(h_ptr + (row64 * T + t) * H + ru[None, :], hn, mask=m_bu)
        if P > 1:
            _arrive(sync_ptr + n)
        nxt = (row64 * T + t + 1) * (G * H)
        x_next = tl.load(xp_ptr + nxt + x_cols[None, :], mask=m_x & (rb[:, None] * 0 + t + 1 < T), other=0.0)
        if CELL == 2:
            xn_next = tl.load(xp_ptr + nxt + 2 * H + ru[None, :], mask=m_bu & (rb[:, None] * 0 + t + 1 < T), other=0.0)
        if P > 1:
            _wait(sync_ptr + n, P * (t + 1))
            hp = tl.load(h_ptr + (row64 * T + t) * H + rk[None, :], mask=m_bk, other=0.0, cache_modifier=".cg")
        else:
            hp = hn
    if CELL == 1:
        tl.store(cT_ptr + rb[:, None] * H + ru[None, :], c, mask=m_bu)


@triton.jit
def _gate_grads(dh, dc, hprev_or_cprev, a0, a1, a2, a3, cT, CELL: tl.constexpr):
    """Gradients of one step's gate pre-activations (and dc into the step) from dh_t, dc_t and saved activations."""
    if CELL == 1:
        tc = _tanh(cT)
        dc = dc + dh * a3 * (1.0 - tc * tc)
        d0 = dc * a2 * a0 * (1.0 - a0)
        d1 = dc * hprev_or_cprev * a1 * (1.0 - a1)
        d2 = dc * a0 * (1.0 - a2 * a2)
        d3 = dh * tc * a3 * (1.0 - a3)
        dc = dc * a1
    elif CELL == 2:
        d2 = dh * (1.0 - a1) * (1.0 - a2 * a2)
        d0 = d2 * a3 * a0 * (1.0 - a0)
        d1 = dh * (hprev_or_cprev - a2) * a1 * (1.0 - a1)
        d3 = d2 * a0
    else:
        d0 = dh * (1.0 - a0 * a0)
        d1, d2, d3 = d0, d0, d0
    return d0, d1, d2, d3, dc


@triton.jit
def _step_inputs(dh_ptr, h_ptr, c_ptr, act_ptr, at, s_at, mask, mask_prev, CELL: tl.constexpr, H: tl.constexpr):
    """What step t's gate gradients read: dh_out_t, the saved activations (Elman: h_t), c_t and c_{t-1} or h_{t-1}."""
    dho = tl.load(dh_ptr + at, mask=mask, other=0.0)
    if CELL == 0:
        a0 = tl.load(h_ptr + at, mask=mask, other=0.0)
        a1, a2, a3, cT, prev = a0, a0, a0, a0, a0
    else:
        a0 = tl.load(act_ptr + s_at, mask=mask, other=0.0)
        a1 = tl.load(act_ptr + s_at + H, mask=mask, other=0.0)
        a2 = tl.load(act_ptr + s_at + 2 * H, mask=mask, other=0.0)
        a3 = tl.load(act_ptr + s_at + 3 * H, mask=mask, other=0.0)
        if CELL == 1:
            cT = tl.load(c_ptr + at, mask=mask, other=0.0)
            prev = tl.load(c_ptr + at - H, mask=mask_prev, other=0.0)
        else:
            cT = a0
            prev = tl.load(h_ptr + at - H, mask=mask_prev, other=0.0)
    return dho, a0, a1, a2, a3, cT, prev


@triton.jit
def _backward_kernel(
    dh_ptr, dhT_ptr, dcT_ptr, w_ptr, h0_ptr, c0_ptr, h_ptr, c_ptr, act_ptr,
    dgx_ptr, dgn_ptr, dh0_ptr, dc0_ptr, sync_ptr,
    B, T,
    H: tl.constexpr, G: tl.constexpr, CELL: tl.constexpr,
    HP: tl.constexpr, HB: tl.constexpr, BB: tl.constexpr, P: tl.constexpr, DOT: tl.constexpr,
):
    """Reverse sweep: dgates_t of this program's units, then dh_{t-1} = dgh_t W_hh[:, units] (+ z dh_t for the GRU).

    dgh_t is dgx_t except the GRU's n gate, whose recurrent gradient r * dn goes to dgn. Step t's
    saved activations are loaded one step ahead, before the barrier wait, so their latency overlaps it.
    """
    p = tl.program_id(0)
    n = tl.program_id(1)
    rb = n * BB + tl.arange(0, BB)
    ru = p * HB + tl.arange(0, HB)
    rk = tl.arange(0, HP)
    mb, mu, mk = rb < B, ru < H, rk < H
    m_bu = mb[:, None] & mu[None, :]
    m_bk = mb[:, None] & mk[None, :]
    w_at = w_ptr + rk[:, None] * H + ru[None, :]
    m_w = mk[:, None] & mu[None, :]
    wt0 = _operand(tl.load(w_at, mask=m_w, other=0.0), DOT)
    wt1, wt2, wt3 = wt0, wt0, wt0
    if G > 1:
        wt1 = _operand(tl.load(w_at + H * H, mask=m_w, other=0.0), DOT)
        wt2 = _operand(tl.load(w_at + 2 * H * H, mask=m_w, other=0.0), DOT)
    if G > 3:
        wt3 = _operand(tl.load(w_at + 3 * H * H, mask=m_w, other=0.0), DOT)
    own = rb[:, None] * H + ru[None, :]
    row64 = rb.to(tl.int64)[:, None]
    rec = tl.load(dhT_ptr + own, mask=m_bu, other=0.0)
    dc = tl.load(dcT_ptr + own, mask=m_bu, other=0.0)
    t = T - 1
    at = (row64 * T + t) * H + ru[None, :]
    s_at = (row64 * T + t) * (4 * H) + ru[None, :]
    m_t = m_bu & (rb[:, None] * 0 + T > 0)
    m_p = m_bu & (rb[:, None] * 0 + T > 1)
    dho, a0, a1, a2, a3, cT, prev = _step_inputs(dh_ptr, h_ptr, c_ptr, act_ptr, at, s_at, m_t, m_p, CELL, H)
    for s in range(T):
        t = T - 1 - s
        dh = rec + dho
        if t == 0:
            if CELL == 1:
                prev = tl.load(c0_ptr + own, mask=m_bu, other=0.0)
            elif CELL == 2:
                prev = tl.load(h0_ptr + own, mask=m_bu, other=0.0)
        d0, d1, d2, d3, dc = _gate_grads(dh, dc, prev, a0, a1, a2, a3, cT, CELL)
        x_at = dgx_ptr + (row64 * T + t) * (G * H) + ru[None, :]
        tl.store(x_at, d0, mask=m_bu)
        if G > 1:
            tl.store(x_at + H, d1, mask=m_bu)
            tl.store(x_at + 2 * H, d2, mask=m_bu)
        if G > 3:
            tl.store(x_at + 3 * H, d3, mask=m_bu)
        if CELL == 2:
            tl.store(dgn_ptr + (row64 * T + t) * H + ru[None, :], d3, mask=m_bu)
        if P > 1:
            _arrive(sync_ptr + n)
        zg = a1
        at = at - H
        s_at = s_at - 4 * H
        m_n = m_bu & (rb[:, None] * 0 + t > 0)
        dho, a0, a1, a2, a3, cT, prev = _step_inputs(dh_ptr, h_ptr, c_ptr, act_ptr, at, s_at, m_n,
                                                      m_n & (rb[:, None] * 0 + t > 1), CELL, H)
        if P > 1:
            _wait(sync_ptr + n, P * (s + 1))
        else:
            tl.debug_barrier()
        g_at = dgx_ptr + (row64 * T + t) * (G * H) + rk[None, :]
        rec = _mm(tl.load(g_at, mask=m_bk, other=0.0, cache_modifier=".cg"), wt0, DOT)
        if G > 1:
            rec += _mm(tl.load(g_at + H, mask=m_bk, other=0.0, cache_modifier=".cg"), wt1, DOT)
            if CELL == 2:
                g_n = dgn_ptr + (row64 * T + t) * H + rk[None, :]
            else:
                g_n = g_at + 2 * H
            rec += _mm(tl.load(g_n, mask=m_bk, other=0.0, cache_modifier=".cg"), wt2, DOT)
        if G > 3:
            rec += _mm(tl.load(g_at + 3 * H, mask=m_bk, other=0.0, cache_modifier=".cg"), wt3, DOT)
        if CELL == 2:
            rec += dh * zg
    tl.store(dh0_ptr + own, rec, mask=m_bu)
    if CELL == 1:
        tl.store(dc0_ptr + own, dc, mask=m_bu)


def _sms(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def _warps(slice_bytes: int) -> int:
    """Warps of a program whose weight slice has this size (Triton keeps it in shared memory)."""
    return 4 if slice_bytes <= 32 * 1024 else 8


def forward_layout(cell: str, hidden: int, precision: str, device: torch.device,
                   units: int | None = None) -> tuple[int, int, int, int]:
    """(HP, HB, P, num_warps) of the forward pass: the fewest programs whose weight slices fit SLICE_BYTES.

    ``units`` forces HB (benchmark sweeps). One program when interpreted.
    """
    hp = max(16, triton.next_power_of_2(hidden))
    gp = 1 if GATES[cell] == 1 else 4
    if device.type != "cuda":
        return hp, hp, 1, 4
    size = 2 if precision == "bf16" else 4
    hb = units or max(16 // gp, 1)
    if units is None:
        while hb < hp and hp * gp * 2 * hb * size <= SLICE_BYTES and triton.cdiv(hidden, hb) > 1:
            hb *= 2
    return hp, hb, triton.cdiv(hidden, hb), _warps(hp * gp * hb * size)


def backward_layout(cell: str, hidden: int, precision: str, device: torch.device,
                    units: int | None = None) -> tuple[int, int, int, int]:
    """(HP, HB, P, num_warps) of the backward pass: BACKWARD_UNITS units a program unless ``units`` forces HB."""
    hp = max(16, triton.next_power_of_2(hidden))
    gp = 1 if GATES[cell] == 1 else 4
    if device.type != "cuda":
        return hp, hp, 1, 4
    size = 2 if precision == "bf16" else 4
    hb = units or min(BACKWARD_UNITS, hp)
    return hp, hb, triton.cdiv(hidden, hb), _warps(gp * hp * hb * size)


def candidate_units(backward: bool, cell: str, hidden: int, precision: str, device: torch.device) -> list[int]:
    """Units per program worth timing: the default layout's, then narrower (more programs) and, backward,
    wider ones, keeping the product at least 16 columns, the slice within TUNE_MAX_SLICE and the grid
    no wider than the SMs (the barrier needs every program resident)."""
    layout = backward_layout if backward else forward_layout
    hp, default, _, _ = layout(cell, hidden, precision, device)
    gp = 1 if GATES[cell] == 1 else 4
    size = 2 if precision == "bf16" else 4
    narrowest = 16 if backward else max(16 // gp, 1)
    order = [default, *(default >> i for i in range(1, 8)), *(default << i for i in range(1, 3) if backward)]
    units = [u for u in order if narrowest <= u <= hp and gp * hp * u * size <= max(TUNE_MAX_SLICE, gp * hp * default * size)
             and triton.cdiv(hidden, u) <= _sms(device)]
    return units[:TUNE_CANDIDATES]


def _tuned_units(key: tuple, candidates: list[int], launch) -> int:
    """The fastest of ``candidates`` for ``launch(units)``, timed once per key (CUDA events, after a warm-up
    launch that compiles); a candidate that fails to compile or launch is skipped."""
    if key not in TUNED:
        times: dict[int, float] = {}
        for units in candidates:
            try:
                launch(units)
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(3):
                    launch(units)
                end.record()
                end.synchronize()
                times[units] = start.elapsed_time(end) / 3
            except (triton.runtime.errors.OutOfResources, triton.CompilationError):
                continue
        TUNED[key] = times or {candidates[0]: float("nan")}
    times = TUNED[key]
    return min(times, key=lambda u: times[u])


def _units(backward: bool, cell: str, hidden: int, precision: str, rows: int, length: int,
           device: torch.device, launch) -> int | None:
    """Forced-free layouts of long sequences on CUDA: the tuned units per program (None: the default)."""
    if device.type != "cuda" or length < TUNE_MIN_STEPS:
        return None
    key = ("bwd" if backward else "fwd", cell, hidden, precision, rows, str(device))
    if key in TUNED:  # every launch after the first: no layout arithmetic or device query on this path
        return _tuned_units(key, [], launch)
    candidates = candidate_units(backward, cell, hidden, precision, device)
    if len(candidates) < 2:
        return None
    return _tuned_units(key, candidates, launch)


def fits(cell: str, hidden: int, precision: str, device: torch.device) -> bool:
    """Whether both passes' grids can be resident at once on this device (the barrier needs it)."""
    if device.type != "cuda":
        return True
    f = forward_layout(cell, hidden, precision, device)
    b = backward_layout(cell, hidden, precision, device)
    return max(f[2], b[2]) <= _sms(device)


def _row_groups(batch: int, programs: int, device: torch.device) -> list[slice]:
    """Batch slices (16 rows a block) small enough that every program of one launch is resident at once."""
    if device.type != "cuda":
        return [slice(0, batch)]
    step = max(1, _sms(device) // programs) * 16
    return [slice(start, min(batch, start + step)) for start in range(0, batch, step)]


def _gate_major_columns(w_hh: torch.Tensor, bias: torch.Tensor, gates: int, hp: int, hb: int, programs: int):
    """W_hh^T as (HP, P*HB*GP) with column (unit*GP + gate), zero-padded, and the bias in the same order."""
    hidden = w_hh.shape[1]
    gp = 1 if gates == 1 else 4
    w = w_hh.new_zeros(gp, programs * hb, hp)
    w[:gates, :hidden, :hidden] = w_hh.view(gates, hidden, hidden)
    b = bias.new_zeros(gp, programs * hb)
    b[:gates, :hidden] = bias.view(gates, hidden)
    return w.permute(2, 1, 0).reshape(hp, -1).contiguous(), b.t().reshape(-1).contiguous()


def _run_forward(cell, xp, w_hh, b_hh, h0, c0, precision, save, units=None):
    batch, length, _ = xp.shape
    hidden = w_hh.shape[1]
    if units is None:
        units = _units(False, cell, hidden, precision, batch, length, xp.device,
                       lambda u: _run_forward(cell, xp, w_hh, b_hh, h0, c0, precision, save, u))
    dev = xp.device
    hp, hb, programs, warps = forward_layout(cell, hidden, precision, dev, units)
    w_cols, b_cols = _gate_major_columns(w_hh, b_hh, GATES[cell], hp, hb, programs)
    f32 = dict(dtype=torch.float32, device=dev)
    h = torch.empty(batch, length, hidden, **f32)
    keep = save and cell != "elman"
    c = torch.empty(batch, length, hidden, **f32) if keep and cell == "lstm" else h
    act = torch.empty(batch, length, 4 * hidden, **f32) if keep else h
    c_last = torch.empty(batch, hidden, **f32) if cell == "lstm" else c0
    kernel = launchable(_forward_kernel, dev)
    for rows in _row_groups(batch, programs, dev):
        n_rows = rows.stop - rows.start
        sync = torch.zeros(triton.cdiv(n_rows, 16), dtype=torch.int32, device=dev)
        kernel[(programs, triton.cdiv(n_rows, 16))](
            xp[rows], w_cols, b_cols, h0[rows], c0[rows], h[rows], c[rows], act[rows], c_last[rows], sync,
            n_rows, length, H=hidden, G=GATES[cell], GP=1 if cell == "elman" else 4, CELL=_CELLS[cell],
            HP=hp, HB=hb, BB=16, P=programs, DOT=precision, SAVE=keep, num_warps=warps,
        )
    return h, c, act, c_last


def _run_backward(cell, dh, dhT, dcT, w_hh, h0, c0, h, c, act, precision, units=None):
    batch, length, hidden = h.shape
    if units is None:
        units = _units(True, cell, hidden, precision, batch, length, h.device,
                       lambda u: _run_backward(cell, dh, dhT, dcT, w_hh, h0, c0, h, c, act, precision, u))
    dev = h.device
    hp, hb, programs, warps = backward_layout(cell, hidden, precision, dev, units)
    f32 = dict(dtype=torch.float32, device=dev)
    gh = GATES[cell] * hidden
    dgx = torch.empty(batch, length, gh, **f32)
    dgn = torch.empty(batch, length, hidden, **f32) if cell == "gru" else dgx
    dh0 = torch.empty(batch, hidden, **f32)
    dc0 = torch.empty(batch, hidden, **f32)
    kernel = launchable(_backward_kernel, dev)
    for rows in _row_groups(batch, programs, dev):
        n_rows = rows.stop - rows.start
        sync = torch.zeros(triton.cdiv(n_rows, 16), dtype=torch.int32, device=dev)
        kernel[(programs, triton.cdiv(n_rows, 16))](
            dh[rows], dhT[rows], dcT[rows], w_hh, h0[rows], c0[rows], h[rows], c[rows], act[rows],
            dgx[rows], dgn[rows], dh0[rows], dc0[rows], sync,
            n_rows, length, H=hidden, G=GATES[cell], CELL=_CELLS[cell],
            HP=hp, HB=hb, BB=16, P=programs, DOT=precision, num_warps=warps,
        )
    dgh = torch.cat([dgx[..., :2 * hidden], dgn], dim=-1) if cell == "gru" else dgx
    return dgx, dgh, dh0, dc0


class _FusedRNN(torch.autograd.Function):
    """Autograd wrapper: the kernels give d(xp), d(h W_hh^T + b_hh) and dh0, dc0; dW_hh is one GEMM over all steps."""

    @staticmethod
    def forward(ctx, xp, w_hh, b_hh, h0, c0, cell, precision, save):
        h, c, act, c_last = _run_forward(cell, xp, w_hh, b_hh, h0, c0, precision, save)
        ctx.cell, ctx.precision = cell, precision
        if save:
            ctx.save_for_backward(w_hh, h0, c0, h, c, act)
        return h, h[:, -1] if h.shape[1] > 0 else h0, c_last

    @staticmethod
    def backward(ctx, dh, dhT, dcT):
        w_hh, h0, c0, h, c, act = ctx.saved_tensors
        cell = ctx.cell
        dh = torch.zeros_like(h) if dh is None else dh.contiguous().float()
        dhT = torch.zeros_like(h0) if dhT is None else dhT.contiguous().float()
        dcT = torch.zeros_like(c0) if dcT is None or cell != "lstm" else dcT.contiguous().float()
        dgx, dgh, dh0, dc0 = _run_backward(cell, dh, dhT, dcT, w_hh, h0, c0, h, c, act, ctx.precision)
        h_prev = torch.cat([h0[:, None], h[:, :-1]], dim=1)
        with tensor_cores(ctx.precision != "ieee"):
            dw = dgh.flatten(0, 1).T @ h_prev.flatten(0, 1)
        db = dgh.sum((0, 1))
        return dgx, dw, db, dh0, (dc0 if cell == "lstm" else None), None, None, None


def fused_rnn(
    cell: str, xp: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor,
    h0: torch.Tensor, c0: torch.Tensor, precision: str = "ieee",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The Triton path of ``rnn_recurrence`` (float32 tensors, shapes checked by the caller); differentiable.

    Returns (h, h_T, c_T); c_T is c0 unchanged for the Elman and GRU cells.
    """
    xp, w_hh, b_hh, h0, c0 = (x.contiguous().float() for x in (xp, w_hh, b_hh, h0, c0))
    save = torch.is_grad_enabled() and any(x.requires_grad for x in (xp, w_hh, b_hh, h0, c0))
    return _FusedRNN.apply(xp, w_hh, b_hh, h0, c0, cell, precision, save)
