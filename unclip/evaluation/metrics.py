"""Retrieval accuracy and Fréchet distance between sets of embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def retrieval_accuracy(
    image_embeds: torch.Tensor, text_embeds: torch.Tensor, targets: torch.Tensor, ks: tuple[int, ...] = (1, 5)
) -> dict[int, float]:
    """Fraction of images whose own caption (`targets[i]`, an index into `text_embeds`) is among the
    k captions with the highest cosine similarity to the image."""
    sims = F.normalize(image_embeds.float(), dim=-1) @ F.normalize(text_embeds.float(), dim=-1).T
    own = sims.gather(1, targets[:, None])
    rank = (sims > own).sum(dim=1)  # captions strictly closer than the own one
    return {k: (rank < k).float().mean().item() for k in ks}


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of vectors [N, D]:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), computed in float64."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = torch.cov(a.T), torch.cov(b.T)

    def sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
        vals, vecs = torch.linalg.eigh((m + m.T) / 2)
        return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T

    root_a = sqrtm_psd(s_a)
    cross = sqrtm_psd(root_a @ s_b @ root_a)
    return float(((mu_a - mu_b) ** 2).sum() + torch.trace(s_a + s_b - 2 * cross))
