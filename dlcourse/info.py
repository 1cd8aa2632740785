"""Entropy and mutual information of discrete distributions, in nats.

These are the quantities behind IIC: the network's softmax outputs on two views of the same
images give a joint distribution over cluster pairs, and training maximises its mutual information.
"""
from __future__ import annotations

import torch

from .checks import all_of, check_int, checked, integer, nonneg, positive, tensor, unit_interval

_ATOL = 1e-3  # how far a sum may be from 1 and still count as a distribution (float32, bf16 softmax)


def _check_distribution(p: torch.Tensor, name: str, dim) -> None:
    """ValueError unless ``p`` is non-negative, finite and sums to 1 along ``dim``."""
    if not torch.is_tensor(p) or not p.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {type(p).__name__}")
    if p.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(p.shape)}")
    values = p.detach()
    if not torch.isfinite(values).all():
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    if (values < 0).any():
        raise ValueError(f"{name} must be non-negative; smallest entry is {values.min().item():.3g}")
    sums = values.sum(dim=dim)
    worst = (sums - 1).abs().max().item() if sums.numel() else 0.0
    if worst > max(_ATOL, 2 * torch.finfo(p.dtype).eps):  # bfloat16 rounds sums by ~1e-2
        where = "in total" if dim is None else f"along dim {dim}"
        raise ValueError(f"{name} must sum to 1 {where}; it is off by up to {worst:.3g}")


def _distribution(dim=-1):
    """Spec: probabilities that sum to 1 along ``dim`` (None: in total; a name: the call's
    argument of that name). Reads the values."""
    def spec(p, name, arguments):
        _check_distribution(p, name, arguments[dim] if isinstance(dim, str) else dim)
        return p
    return spec


def _axis_of_p(dim, name, arguments):
    """Spec: None, or an int naming a dimension of the call's ``p``."""
    if dim is None:
        return None
    p = arguments["p"]
    ndim = max(p.ndim, 1) if torch.is_tensor(p) else 1
    return check_int(dim, name, -ndim, ndim - 1)


def _shape_of_z1(z2, name, arguments):
    """Spec: ``z1`` and ``z2`` both ``B x C``, of one shape and dtype (not read)."""
    z1 = arguments["z1"]
    if z1.ndim != 2 or z1.shape != z2.shape or z1.dtype != z2.dtype:
        raise ValueError(f"z1 and {name} must both be B x C with the same shape and dtype, "
                         f"got {tuple(z1.shape)} {z1.dtype} and {tuple(z2.shape)} {z2.dtype}")
    return z2


# Spec of a joint matrix P: 2-D, entries >= 0 that sum to 1 (reads them).
joint_matrix = all_of(tensor(ndim=2), _distribution(None))


def _plogp(p: torch.Tensor) -> torch.Tensor:
    """p * log p with the convention 0 log 0 = 0."""
    return torch.special.xlogy(p, p)


@checked(dim=_axis_of_p, p=_distribution("dim"))
def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Shannon entropy H(p) = -sum_i p_i log p_i in nats, along ``dim`` (0 log 0 = 0).

    Uniform over C outcomes gives log C, the maximum; a one-hot vector gives 0.
    """
    return torch.special.entr(p).sum(dim=dim)  # entr(x) = -x log x, entr(0) = 0


@checked(z1=_distribution(), z2=all_of(_distribution(), _shape_of_z1))
def joint_distribution(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """The IIC joint matrix of cluster assignments from two batches of softmax outputs.

    ``z1[b]`` and ``z2[b]`` are the network's class probabilities for two views of image ``b``.
    P = (1/B) sum_b z1[b] z2[b]^T is symmetrised, (P + P^T) / 2, because the two views play the
    same role, and renormalised. Returns a ``C x C`` matrix that sums to 1; differentiable.
    """
    joint = z1.transpose(0, 1) @ z2 / z1.shape[0]
    joint = (joint + joint.transpose(0, 1)) / 2
    return joint / joint.sum()


@checked(joint=joint_matrix)
def mutual_information(joint: torch.Tensor) -> torch.Tensor:
    """I(X; Y) = sum_ij P_ij log(P_ij / (P_i P_j)) in nats, from a joint matrix ``P`` (rows = X).

    Computed as H(X) + H(Y) - H(X, Y), which is the same sum rearranged and needs no division
    by zero marginals; clamped at 0 because rounding can leave -1e-17 where the true value is 0.
    0 for independent variables (P = outer product of its marginals); log C for a uniform
    diagonal C x C joint.
    """
    p_x, p_y = joint.sum(dim=1), joint.sum(dim=0)
    return (_plogp(joint).sum() - _plogp(p_x).sum() - _plogp(p_y).sum()).clamp_min(0.0)


@checked(z1=tensor(floating=True, nonempty=True), z2=all_of(tensor(floating=True), _shape_of_z1),
         alpha=nonneg, eps=positive)
def iic_loss(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 1.0, eps: float = 1e-8) -> torch.Tensor:
    """The IIC objective to minimise: -sum_ij P_ij (log P_ij - alpha log P_i - alpha log P_j).

    ``z1``, ``z2``: softmax outputs ``B x C`` of the network on two views of the same images. With
    ``alpha = 1`` this is exactly ``-mutual_information(joint_distribution(z1, z2))``; ``alpha > 1``
    weights the marginal-entropy terms H(X) and H(Y), the lever against unbalanced clusters (the
    source article's alpha = 10). The logs read ``max(P, eps)``: an empty cluster or a zero joint
    entry would otherwise give log 0 and a NaN gradient; IIC's reference code clamps the same way.
    Computed in float32 even under mixed precision. A training step calls this: shapes and dtypes
    are checked, the values (the network's softmax) are not read.
    """
    if z1.dtype in (torch.float16, torch.bfloat16) or z2.dtype in (torch.float16, torch.bfloat16):
        # half-precision rows sum to 1 only to ~1e-2: compute in float32 from renormalised rows
        z1, z2 = (z.float() / z.float().sum(dim=-1, keepdim=True) for z in (z1, z2))
    joint = joint_distribution.unchecked(z1, z2)
    p_x, p_y = joint.sum(dim=1, keepdim=True), joint.sum(dim=0, keepdim=True)
    log_joint = joint.clamp_min(eps).log()
    log_px, log_py = p_x.clamp_min(eps).log(), p_y.clamp_min(eps).log()
    return -(joint * (log_joint - alpha * log_px - alpha * log_py)).sum()


@checked(joint=joint_matrix)
def conditional_entropy(joint: torch.Tensor) -> torch.Tensor:
    """H(X | Y) = -sum_ij P_ij log(P_ij / P_j) in nats, from a joint matrix ``P`` (rows = X, columns = Y).

    The doubt about the row that is left once the column is known: the column-wise entropies of
    the conditionals P(X | Y = j), averaged with weights P_j. Computed by the chain rule
    H(X, Y) = H(Y) + H(X | Y) as H(X, Y) - H(Y), which needs no division by empty columns; clamped
    at 0 against rounding. 0 when the column determines the row (a permuted diagonal); H(X) when
    X and Y are independent. For the other direction, H(Y | X), pass ``joint.T``.
    """
    p_y = joint.sum(dim=0)
    return (_plogp(p_y).sum() - _plogp(joint).sum()).clamp_min(0.0)


@checked(dependence=unit_interval, skew=nonneg, num_clusters=integer(low=2))
def morph_joint(dependence: float, skew: float = 0.0, num_clusters: int = 5) -> torch.Tensor:
    """A joint matrix between independence and perfect agreement.

    P = d * diag(m) + (1 - d) * m m^T, with both marginals equal to m, where m_k is proportional to
    exp(-skew * k): ``skew = 0`` gives balanced clusters, larger values pile mass on cluster 0.
    """
    m = torch.softmax(-skew * torch.arange(num_clusters, dtype=torch.float64), dim=0)
    return dependence * torch.diag(m) + (1 - dependence) * torch.outer(m, m)
