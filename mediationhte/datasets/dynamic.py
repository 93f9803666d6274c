"""Simulators and true values for dynamic (sequential) mediation: Toy I, Toy II and the semi-synthetic design.

After Ge, Wang, Shi, Wu and Song (ICML 2023, arXiv 2301.13348). A mediated MDP: state S_t ->
action A_t -> mediator M_t -> reward R_t -> next state S_{t+1}. The four-way
decomposition of the average-reward effect of a target policy pi_e against the
control "always a_0 = 0" is a chain of five long-run averages (eta_1..eta_5):
IDE = eta1 - eta2, IME = eta2 - eta3, DDE = eta3 - eta4, DME = eta4 - eta5, and
ATE = eta1 - eta5. They use three Markov chains on the states:

* e (target): a ~ pi_e, m ~ p_m(. | s, a), s' ~ p(. | s, a, m);
* 0 (control): a = a_0, m ~ p_m(. | s, a_0), s' ~ p(. | s, a_0, m);
* G (mixed): m ~ p_m^e(. | s) = sum_a pi_e(a | s) p_m(. | s, a), s' ~ p(. | s, a_0, m).

The Toy designs are binary in S, A and M, so their truths are exact linear
algebra (stationary laws of 2-state chains and the tabular Bellman equations);
the semi-synthetic truth is a Monte Carlo average over long stationary runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from mediationhte.core import validation as V
from mediationhte.core.random_state import resolve_seed
from mediationhte.core.types import DynamicScenario, RandomState
from mediationhte.errors import ParameterError, warn_at_caller

DESIGNS = ("toy1", "toy2_iid", "semi_synthetic")
#: The scenarios of :func:`simulate_dynamic` (the same tuple as :data:`DESIGNS`, named like the other simulators').
SCENARIOS = DESIGNS


def _renamed_design(scenario, design, default: str, function: str) -> str:
    """``scenario``, or the value of its deprecated name ``design`` (with a DeprecationWarning)."""
    if design is None:
        return scenario
    warn_at_caller(f"{function}(design=...) is deprecated; pass the scenario name as scenario= (or first), as "
                  "simulate() and simulate_crt() take it.", DeprecationWarning)
    if scenario != default and scenario != design:
        raise ParameterError(f"Parameters scenario={scenario!r} and design={design!r} (its deprecated name) "
                             "disagree; pass scenario only.", parameter="design")
    return design
COMPONENTS = ("IDE", "IME", "DDE", "DME", "ATE")


# ------------------------------------------------------------------------------------------------ Toy designs
def toy_behaviour(s):
    """P(A = 1 | S = s) of the data: expit(1 - 2 s)."""
    return expit(1.0 - 2.0 * np.asarray(s, dtype=float))


def toy_target_policy(s):
    """The target policy pi_e of the Toy designs: P(A = 1 | S = s) = expit(1.5 + s)."""
    return expit(1.5 + np.asarray(s, dtype=float))


def _toy_mediator(s, a):
    return expit(1.0 - 1.5 * s + 2.5 * a)


def _toy_reward(s, a, m):
    return 10.0 * expit(1.0 + 2.0 * s - a - 2.5 * m)


def _toy_next(s, a, m, iid: bool):
    return np.full(np.broadcast(s, a, m).shape, 0.2) if iid else expit(0.5 + 3.0 * s - 2.5 * a - 0.5 * m)


def _stationary(P: np.ndarray) -> np.ndarray:
    """Stationary law of a finite Markov chain with transition matrix P (rows sum to 1)."""
    k = P.shape[0]
    A = np.vstack([P.T - np.eye(k), np.ones(k)])
    return np.linalg.lstsq(A, np.r_[np.zeros(k), 1.0], rcond=None)[0]


def _toy_tables(iid: bool):
    """Arrays over (s, a, m) of the Toy design: mediator law, reward mean, P(s' = 1)."""
    s, a, m = np.meshgrid([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], indexing="ij")
    pm1 = _toy_mediator(s, a)
    pm = np.where(m == 1, pm1, 1 - pm1)
    return pm, _toy_reward(s, a, m), _toy_next(s, a, m, iid)


def toy_truth(scenario: str = "toy1", decomposition: str = "four_way", *, design: str | None = None) -> dict:
    """Exact true effects of the Toy designs: etas, components, stationary laws, Q-tables.

    Parameters
    ----------
    scenario : {"toy1", "toy2_iid"}
        Toy I, or Toy II's variant with i.i.d. states (S_{t+1} ~ Bern(0.2)).
    decomposition : {"four_way", "natural"}
        The main-text decomposition, or Appendix B's (roles of pi_e and pi_0 swapped).
    design : str, optional
        Deprecated name of `scenario` (DeprecationWarning).

    Returns
    -------
    dict
        ``etas`` (the five long-run averages, in the decomposition's order),
        ``effects`` (IDE, IME, DDE, DME, ATE), ``stationary`` (P(S = 1) under the
        chains e, 0, G and the behaviour chain b) and, for the four-way
        decomposition, ``q_tables`` (Q_1..Q_5 over the cells (s, a, m) in the
        order 100, 010, 001, 110, 101, 011, 111, with Q(000) = 0).

    Examples
    --------
    >>> truth = toy_truth("toy1")
    >>> round(truth["effects"]["ATE"], 6)
    -5.566082
    """
    scenario = _renamed_design(scenario, design, "toy1", "toy_truth")
    V.check_option("scenario", scenario, ("toy1", "toy2_iid"))
    V.check_option("decomposition", decomposition, ("four_way", "natural"))
    pm, r, p1 = _toy_tables(scenario == "toy2_iid")
    states = np.array([0.0, 1.0])
    pe = np.stack([1 - toy_target_policy(states), toy_target_policy(states)], axis=1)   # pi_e(a | s)
    pb = np.stack([1 - toy_behaviour(states), toy_behaviour(states)], axis=1)
    p_next = np.stack([1 - p1, p1], axis=-1)                                            # (s, a, m, s')
    rbar = (pm * r).sum(axis=2)                                                          # (s, a)
    pm_e = np.einsum("sa,sam->sm", pe, pm)                                               # p_m^e(m | s)
    pm_0 = pm[:, 0, :]

    def chain(action_law, mediator_law, direct_action):
        # P[s, s'] = sum_a w(a|s) sum_m q(m|s,a) p(s'|s, a_direct, m)
        P = np.zeros((2, 2))
        for a in (0, 1):
            direct = a if direct_action is None else direct_action
            q = pm[:, a, :] if mediator_law is None else mediator_law
            P += action_law[:, a][:, None] * np.einsum("sm,smt->st", q, p_next[:, direct, :, :])
        return P

    one_hot0 = np.stack([np.ones(2), np.zeros(2)], axis=1)
    d = {"e": _stationary(chain(pe, None, None)), "0": _stationary(chain(one_hot0, None, None)),
         "b": _stationary(chain(pb, None, None))}
    if decomposition == "four_way":
        d["G"] = _stationary(chain(one_hot0, pm_e, 0))
        etas = np.array([
            d["e"] @ (pe * rbar).sum(axis=1),
            d["e"] @ (pm_e * r[:, 0, :]).sum(axis=1),
            d["e"] @ rbar[:, 0],
            d["G"] @ rbar[:, 0],
            d["0"] @ rbar[:, 0],
        ])
    else:
        rbar_e = (pe * rbar).sum(axis=1)
        # chain G': the direct paths follow pi_e, the mediator is drawn as under a_0
        d["G"] = _stationary(chain(pe, pm_0, None))
        etas = np.array([
            d["0"] @ rbar[:, 0],
            d["0"] @ (pm_0 * (pe[:, :, None] * r).sum(axis=1)).sum(axis=1),
            d["0"] @ rbar_e,
            d["G"] @ rbar_e,
            d["e"] @ rbar_e,
        ])
    diffs = np.diff(etas) if decomposition == "natural" else -np.diff(etas)
    effects = dict(zip(COMPONENTS[:4], (float(v) + 0.0 for v in diffs)))  # + 0.0: no "-0.0"
    effects["ATE"] = float(sum(diffs))
    out = {"etas": tuple(map(float, etas)), "effects": effects,
           "stationary": {k: float(v[1]) for k, v in d.items()}}
    if decomposition == "four_way":
        out["q_tables"] = _toy_q_tables(pm, r, p_next, pe, pm_e, rbar, etas)
    return out


#: The order of the seven free cells (s, a, m); Q(0, 0, 0) = 0 fixes the additive constant.
Q_CELLS = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1))


def _toy_q_tables(pm, r, p_next, pe, pm_e, rbar, etas) -> dict:
    """Solve the five tabular average-reward Bellman equations of the decomposition exactly."""
    cells = [(s, a, m) for s in (0, 1) for a in (0, 1) for m in (0, 1)]
    index = {c: i for i, c in enumerate(cells)}
    rewards = [r, np.broadcast_to(r[:, :1, :], r.shape), np.broadcast_to(rbar[:, :1, None], r.shape),
               np.broadcast_to(rbar[:, :1, None], r.shape), r]
    out = {}
    for k in range(5):
        # weight of Q(s', a', m') in V_k(s'), for every next state s'
        W = np.zeros((2, 8))
        for s2 in (0, 1):
            for a2 in (0, 1):
                for m2 in (0, 1):
                    if k <= 2:
                        w = pe[s2, a2] * pm[s2, a2, m2]
                    elif k == 3:
                        w = pm_e[s2, m2] * (a2 == 0)
                    else:
                        w = pm[s2, 0, m2] * (a2 == 0)
                    W[s2, index[(s2, a2, m2)]] += w
        # unknowns: Q over the 8 cells and eta; equations: Q(c) - sum_s' p(s'|c) V(s') + eta = Y(c), Q(000) = 0
        A = np.zeros((9, 9))
        b = np.zeros(9)
        for i, (s, a, m) in enumerate(cells):
            A[i, i] += 1.0
            A[i, :8] -= p_next[s, a, m] @ W
            A[i, 8] = 1.0
            b[i] = rewards[k][s, a, m]
        A[8, index[(0, 0, 0)]] = 1.0
        sol = np.linalg.solve(A, b)
        out[f"Q{k + 1}"] = tuple(float(sol[index[c]]) for c in Q_CELLS)
        out[f"eta{k + 1}"] = float(sol[8])
    return out


# ------------------------------------------------------------------------------------------- semi-synthetic
def semi_target_policy(s):
    """The semi-synthetic target policy: P(A = 1 | S = s) = expit(0.7 s)."""
    return expit(0.7 * np.asarray(s, dtype=float))


def _semi_mediator_mean(s, a):
    root = np.sqrt(np.abs(s))
    return root + (a - 0.5), -0.5 * s + 0.5 * (a - 0.5) * root


def _semi_mediator(s, a, rng):
    mean1, mean2 = _semi_mediator_mean(s, a)
    m1 = mean1 + 2.0 * rng.standard_normal(np.shape(s))
    m2 = mean2 + 2.0 * rng.standard_normal(np.shape(s))
    return m1, m2


def _semi_reward_mean(s, a, m1, m2):
    return 1.5 * (0.5 * s + 0.5 * np.sqrt(np.abs(s)) + m1 + m2 + 0.5 * np.sqrt(np.abs(m1) + np.abs(m2)) * (a - 0.5)
                  + 0.5 * (a - 0.5))


def semi_synthetic_nuisances() -> dict:
    """The semi-synthetic design's true nuisances, for oracle checks of the dynamic estimators.

    The design draws A ~ Bern(0.5), M1 = sqrt|s| + (a - 0.5) + 2 e1,
    M2 = -0.5 s + 0.5 (a - 0.5) sqrt|s| + 2 e2 and R = r(s, a, m) + 2 e3 with independent
    standard normal errors. Putting these in place of the fitted nuisances shows which
    nuisance's estimation error an interval misses (``benchmarks/bench_dynamic.py --oracle``).

    Returns
    -------
    dict
        ``behaviour``: callable s -> P(A = 1 | s) (0.5 everywhere); ``mediator_mean``:
        callable (s, a) -> (n, 2) array of E[(M1, M2) | s, a]; ``mediator_cov``: the
        (2, 2) covariance of M given (s, a), 4 I; ``reward_mean``: callable (s, a, m) ->
        (n,) array of E[R | s, a, m], with m of shape (n, 2). ``s`` may be (n,) or (n, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from mediationhte.datasets.dynamic import semi_synthetic_nuisances
    >>> truth = semi_synthetic_nuisances()
    >>> truth["mediator_mean"](np.array([4.0]), np.array([1.0]))
    array([[ 2.5, -1.5]])
    >>> float(truth["reward_mean"](np.array([0.0]), np.array([0.0]), np.array([[0.0, 0.0]]))[0])
    -0.375
    """
    def flat(s):
        return np.asarray(s, dtype=float).reshape(len(s), -1)[:, 0]

    def mediator_mean(s, a):
        return np.column_stack(_semi_mediator_mean(flat(s), np.asarray(a, dtype=float).reshape(-1)))

    def reward_mean(s, a, m):
        m = np.asarray(m, dtype=float).reshape(len(m), -1)
        return _semi_reward_mean(flat(s), np.asarray(a, dtype=float).reshape(-1), m[:, 0], m[:, 1])

    return {"behaviour": lambda s: np.full(len(flat(s)), 0.5), "mediator_mean": mediator_mean,
            "mediator_cov": 4.0 * np.eye(2), "reward_mean": reward_mean}


# ------------------------------------------------------------------------------------------------- simulator
def simulate_dynamic(scenario: DynamicScenario = "toy1", n_trajectories: int = 100, horizon: int = 50, *,
                     design: str | None = None, random_state: RandomState = None) -> pd.DataFrame:
    """Simulate trajectories of a mediated MDP (Ge et al. 2023, section 7) in long format.

    All three simulators (:func:`~mediationhte.simulate`, :func:`~mediationhte.simulate_crt`,
    :func:`~mediationhte.simulate_dynamic`) take the same argument style: the scenario name
    first, then the size(s), then keyword-only options, ``random_state=None`` last (None:
    fresh entropy, recorded in ``attrs["seed_used"]``).

    Parameters
    ----------
    scenario : {"toy1", "toy2_iid", "semi_synthetic"}, default "toy1"
        Toy I (binary S, A, M; behaviour expit(1 - 2s)), Toy II's i.i.d.-state
        variant (S_{t+1} ~ Bern(0.2)), or the semi-synthetic mobile-health design
        (one continuous state, two mediators, A ~ Bern(0.5), S_{t+1} = R_t).
    n_trajectories, horizon : int, default 100 and 50
        N trajectories of T decision times each.
    design : str, optional
        Deprecated name of `scenario` (DeprecationWarning).
    random_state : None, int or numpy.random.Generator, default None
        Seed or Generator for all draws. ``None`` draws fresh entropy, recorded in
        ``attrs["seed_used"]`` so the data can be regenerated.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``time``, ``state``, ``action``, the mediator(s) (``mediator``,
        or ``m1`` and ``m2``), ``reward``; ``attrs`` holds ``scenario`` (also under its
        old key ``design``), ``seed_used``, the target policy (a callable of the state)
        and the behaviour propensity.

    Examples
    --------
    >>> d = simulate_dynamic("toy1", n_trajectories=5, horizon=4, random_state=1)
    >>> d.shape
    (20, 6)
    """
    scenario = _renamed_design(scenario, design, "toy1", "simulate_dynamic")
    V.check_option("scenario", scenario, SCENARIOS)
    n = V.check_positive_int("n_trajectories", n_trajectories)
    T = V.check_positive_int("horizon", horizon, minimum=2)
    rng, seed_used = resolve_seed(random_state)
    cols = {k: np.empty((T, n)) for k in ("state", "action", "m1", "m2", "reward")}
    if scenario == "semi_synthetic":
        s = rng.standard_normal(n)
    else:
        s = (rng.uniform(size=n) < 0.5).astype(float)
    for t in range(T):  # vectorised over trajectories; the time loop is the process itself
        cols["state"][t] = s
        if scenario == "semi_synthetic":
            a = (rng.uniform(size=n) < 0.5).astype(float)
            m1, m2 = _semi_mediator(s, a, rng)
            reward = _semi_reward_mean(s, a, m1, m2) + 2.0 * rng.standard_normal(n)
            s_next = reward
        else:
            a = (rng.uniform(size=n) < toy_behaviour(s)).astype(float)
            m1 = (rng.uniform(size=n) < _toy_mediator(s, a)).astype(float)
            m2 = np.zeros(n)
            reward = 10.0 * (rng.uniform(size=n) < expit(1.0 + 2.0 * s - a - 2.5 * m1))
            s_next = (rng.uniform(size=n) < _toy_next(s, a, m1, scenario == "toy2_iid")).astype(float)
        cols["action"][t], cols["m1"][t], cols["m2"][t], cols["reward"][t] = a, m1, m2, reward
        s = s_next
    frame = pd.DataFrame({"id": np.tile(np.arange(n), T), "time": np.repeat(np.arange(T), n)})
    frame["state"] = cols["state"].ravel()
    frame["action"] = cols["action"].ravel().astype(int)
    if scenario == "semi_synthetic":
        frame["m1"], frame["m2"] = cols["m1"].ravel(), cols["m2"].ravel()
    else:
        frame["mediator"] = cols["m1"].ravel().astype(int)
    frame["reward"] = cols["reward"].ravel()
    frame = frame.sort_values(["id", "time"], kind="stable").reset_index(drop=True)
    frame.attrs.update(scenario=scenario, design=scenario, seed_used=seed_used,
                       target_policy=semi_target_policy if scenario == "semi_synthetic" else toy_target_policy,
                       propensity=0.5 if scenario == "semi_synthetic" else toy_behaviour)
    return frame


def semi_synthetic_truth(n_chains: int = 20_000, horizon: int = 200, burn_in: int = 100,
                         random_state=2023, decomposition: str = "four_way") -> dict:
    """Monte Carlo truth of the semi-synthetic design, with Monte Carlo SEs.

    Runs ``n_chains`` parallel copies of each chain for ``burn_in + horizon`` steps and
    averages these quantities over the last ``horizon`` steps. Four-way (section
    1.3): eta1 the reward under pi_e; eta2 r(S, a_0, M) with M from p_m^e; eta3
    r(S, a_0, M) with M from p_m(. | S, a_0), all on chain e; eta4 the same on chain G;
    eta5 the reward on chain 0. Natural (section 1.4): eta5; eta6 r(S, A, M) with A from
    pi_e and M from p_m(. | S, a_0), and eta7 the reward under pi_e, both on chain 0;
    eta8 the reward under pi_e on chain G' (direct action from pi_e, mediator as under
    a_0); eta1. Rewards enter through their conditional mean (the noise has mean 0),
    which lowers the Monte Carlo error.

    Returns
    -------
    dict
        ``etas`` (in the decomposition's order), ``effects`` (IDE, IME, DDE, DME, ATE) and
        ``mc_se`` (per effect, from the spread of the per-chain averages).

    Examples
    --------
    >>> truth = semi_synthetic_truth(n_chains=500, horizon=50, burn_in=50, random_state=1)
    >>> sorted(truth["effects"])
    ['ATE', 'DDE', 'DME', 'IDE', 'IME']
    """
    V.check_option("decomposition", decomposition, ("four_way", "natural"))
    n = V.check_positive_int("n_chains", n_chains, minimum=2)
    T = V.check_positive_int("horizon", horizon)
    burn = V.check_positive_int("burn_in", burn_in, minimum=0)
    rng, _ = resolve_seed(random_state)
    zeros = np.zeros(n)
    sums = np.zeros((5, n))
    natural = decomposition == "natural"
    names = ("e", "G'", "0") if natural else ("e", "G", "0")
    s = {k: rng.standard_normal(n) for k in names}

    def target_action(state):
        return (rng.uniform(size=n) < semi_target_policy(state)).astype(float)

    for t in range(burn + T):
        keep = t >= burn
        # chain e
        se = s["e"]
        a = target_action(se)
        m1, m2 = _semi_mediator(se, a, rng)
        r_e = _semi_reward_mean(se, a, m1, m2)
        if keep and not natural:
            sums[0] += r_e
            sums[1] += _semi_reward_mean(se, 0.0, m1, m2)  # m from p_m^e: drawn with a ~ pi_e
            c1, c2 = _semi_mediator(se, zeros, rng)
            sums[2] += _semi_reward_mean(se, 0.0, c1, c2)
        elif keep:
            sums[4] += r_e
        s["e"] = r_e + 2.0 * rng.standard_normal(n)
        if natural:
            # chain G': direct action from pi_e, mediator as under a_0
            sg = s["G'"]
            g1, g2 = _semi_mediator(sg, zeros, rng)
            r_g = _semi_reward_mean(sg, target_action(sg), g1, g2)
            if keep:
                a_g = target_action(sg)
                h1, h2 = _semi_mediator(sg, a_g, rng)
                sums[3] += _semi_reward_mean(sg, a_g, h1, h2)
        else:
            # chain G: mediator as under pi_e, direct action a_0
            sg = s["G"]
            g1, g2 = _semi_mediator(sg, target_action(sg), rng)
            r_g = _semi_reward_mean(sg, 0.0, g1, g2)
            if keep:
                c1, c2 = _semi_mediator(sg, zeros, rng)
                sums[3] += _semi_reward_mean(sg, 0.0, c1, c2)
        s[names[1]] = r_g + 2.0 * rng.standard_normal(n)
        # chain 0
        s0 = s["0"]
        z1, z2 = _semi_mediator(s0, zeros, rng)
        r_0 = _semi_reward_mean(s0, 0.0, z1, z2)
        if keep and natural:
            sums[0] += r_0
            sums[1] += _semi_reward_mean(s0, target_action(s0), z1, z2)   # direct from pi_e, m from a_0
            a_0 = target_action(s0)
            c1, c2 = _semi_mediator(s0, a_0, rng)
            sums[2] += _semi_reward_mean(s0, a_0, c1, c2)
        elif keep:
            sums[4] += r_0
        s["0"] = r_0 + 2.0 * rng.standard_normal(n)
    per_chain = sums / T
    etas = per_chain.mean(axis=1)
    contrasts = np.diff(per_chain, axis=0) * (1.0 if natural else -1.0)
    effects = dict(zip(COMPONENTS[:4], map(float, contrasts.mean(axis=1))))
    total = (per_chain[4] - per_chain[0]) * (1.0 if natural else -1.0)
    effects["ATE"] = float(total.mean())
    se = dict(zip(COMPONENTS[:4], map(float, contrasts.std(axis=1, ddof=1) / np.sqrt(n))))
    se["ATE"] = float(total.std(ddof=1) / np.sqrt(n))
    return {"etas": tuple(map(float, etas)), "effects": effects, "mc_se": se}
