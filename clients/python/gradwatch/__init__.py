"""gradwatch: watch PyTorch training jobs (docs/python-client.md).

    with gradwatch.Watcher(run_id="pt-lstm-1") as watcher:
        watcher.watch(model.rnn)
        for step in range(n):
            with watcher.step(step, optimizer=optimizer) as s:
                ...
                loss.backward()
                watcher.clip_grad_norm_(model.parameters())
                optimizer.step()
                s.record(loss=loss, accuracy=acc)
"""
from gradwatch.control import StopTraining
from gradwatch.sender import Stats
from gradwatch.watcher import StepScope, Watcher

__version__ = "0.1.0"
__all__ = ["Watcher", "StepScope", "StopTraining", "Stats", "__version__"]
