"""Temperature scaling (Guo et al. 2017): one scalar T, fitted on the validation split after
training, divides the logits so that confidences match accuracies. It never changes which class
wins, only how sure the model says it is — which matters when low confidence means "not a digit".
Label smoothing and EMA both leave a model under-confident; T < 1 corrects that."""

import torch
from torch.nn.functional import cross_entropy


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 minimizing the cross-entropy of softmax(logits / T) on held-out examples.

    logits: (N, C) float32; labels: (N,) int64. Returns 1.0 when there is nothing to fit."""
    if len(labels) == 0:
        return 1.0
    logits = logits.detach().clone()  # a normal tensor even if made under inference_mode
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = cross_entropy(logits / log_t.exp(), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.detach().exp().clamp(0.05, 20.0))
