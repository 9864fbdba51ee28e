"""``process_batch`` and ``process_message``: the one place the stages are chained.

load → normalize → thread or dedupe → route → assign → save outcome and events, in
one transaction per batch of messages (a single message is a batch of one). Running it
twice changes nothing the second time: a message that is no longer ``received`` is left
alone. The same functions run inline and under arq.

A batch is read with one statement, takes the dedupe locks of all its places at once
(in one order, so two workers' batches never wait on each other's locks), brings the
dedupe index up to date once, and commits once; its messages are processed one after
another, oldest first, so a conversation's messages keep their order and a later
message sees the tickets the earlier ones opened. A batch that fails is processed
again one message at a time, so one bad message costs the others nothing.

What it needs of the running process is the small :class:`PipelineDeps` protocol (the
store, the settings, the rules and model in force, the dedupe index); the rules and the
model are read once per batch, so a rules file saved halfway through a batch does
not change its decisions midway.
"""

from qanat.pipeline.batch import process_batch, process_message
from qanat.pipeline.run import PIPELINE, Outcome, PipelineDeps, Result, SetAside

__all__ = [
    "PIPELINE",
    "Outcome",
    "PipelineDeps",
    "Result",
    "SetAside",
    "process_batch",
    "process_message",
]
