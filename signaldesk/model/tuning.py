"""Tuning off the VPS: the walk-forward objective (never the holdout) and the search space Optuna
explores.

Optuna itself is imported only by `signaldesk tune` (jobs/tune.py), which opens the study in RDB
storage; the trial and study objects arrive here as arguments, so this module (and every desk
process) stays free of it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from signaldesk.model.evaluation import sign_auc
from signaldesk.model.training import BOOSTER_PARAMS, Fold, fit_model, score_rows


@dataclass(frozen=True)
class Objective:
    """The walk-forward objective: pooled sign AUC of every fold's test rows, all before the
    holdout."""

    data: pd.DataFrame
    folds: list[Fold]
    holdout_from: pd.Timestamp

    def __post_init__(self):
        if self.data["open_time"].max() >= self.holdout_from:
            raise ValueError("the tuning data reaches into the holdout; clip it before tuning")

    def score(self, params: dict, rounds: int) -> float:
        """Return the pooled walk-forward sign AUC of these parameters."""
        parts = []
        for fold in self.folds:
            model = fit_model(self.data, fold, params, rounds)
            parts.append(score_rows(model, self.data[fold.test.mask(self.data["open_time"])]))
        rows = pd.concat(parts)
        return sign_auc(rows["up"].to_numpy(), rows["prob_up"].to_numpy()) or 0.5


def suggest(trial) -> tuple[dict, int]:
    """Return LightGBM parameters and rounds proposed by an Optuna trial (the search space)."""
    params = {
        **BOOSTER_PARAMS,
        "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.1, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 3, 31),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 100, 4000, log=True),
        "lambda_l2": trial.suggest_float("lambda_l2", 0.1, 100.0, log=True),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
    }
    return params, trial.suggest_int("num_boost_round", 50, 600, log=True)


def run_trials(
    study, objective: Objective, trials: int, progress: Callable[[str], None] = lambda _: None
) -> None:
    """Run `trials` trials of this worker on the shared study, each tagged with the worker and data
    range."""
    worker = f"{socket.gethostname()}:{os.getpid()}"

    def evaluate(trial) -> float:
        params, rounds = suggest(trial)
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("data_until", objective.data["open_time"].max().isoformat())
        trial.set_user_attr("holdout_from", objective.holdout_from.isoformat())
        value = objective.score(params, rounds)
        progress(f"trial {trial.number} ({worker}): walk-forward sign AUC {value:.4f}")
        return value

    study.optimize(evaluate, n_trials=trials)


def best_params(study) -> dict:
    """Return the best trial's LightGBM parameters and rounds (the `train --params` file's
    content)."""
    best = study.best_trial
    params = {**BOOSTER_PARAMS, **best.params}
    return {**params, "num_boost_round": int(params.pop("num_boost_round"))}
