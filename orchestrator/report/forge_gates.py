"""Mirror the note to the forge: pull requests for promotion branches, statuses per gate.

Fed by the pipeline's record hook (every note entry the agent writes), like Events
and notifications. The note stays the record; this keeps a copy where people review.
All forge calls happen on a background thread: an entry only updates what the forge
should show (`desired`), so a forge that is slow or away never holds a reconcile
back. While it is away, attempts are repeated with growing pauses; when it answers
again, everything not yet shown is caught up by difference (`mirror_statuses`), and
repeating that is harmless. After a restart, the recent note entries (`History`) are
read once and mirrored the same way, so what an earlier run could not show is caught
up too, pull requests included for promotion branches that still await their merge.
Pull requests are found by head branch, so restarts and replicas never open a second.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.errors import (
    ForgeAuthFailed,
    ForgeError,
    ForgeNotFound,
    ForgeUnreachable,
    MergeRefused,
    OrchestratorError,
)
from orchestrator.forge.mirror import mirror_statuses
from orchestrator.forge.protocol import CommitStatus, Forge, StatusState
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.record import Entry
from orchestrator.report.gates import PullRequestWanted, gate_statuses, pull_requests

log = logging.getLogger("orchestrator.report")


class History(Protocol):
    """What a restarted agent's mirror reads from the bus (through a clone of its own)."""

    def entries(self) -> Iterable[NoteEntry]:
        """The entries of the environment's recently noted commits, oldest first."""
        ...

    def awaits_merge(self, *, head: str, base: str, commit: str) -> bool:
        """Whether branch `head` still holds `commit`, not yet merged into `base`."""
        ...


# Commits whose desired statuses are remembered once mirrored (a re-post after a
# forge reset needs them); older ones are forgotten first.
REMEMBERED_COMMITS = 256


@dataclass
class _Promotion:
    """A pull request to keep open, and the revision whose gates its head shows."""

    wanted: PullRequestWanted
    revision: str
    auto_merge: bool
    opened: int | None = None  # the pull request's number, once opened


@dataclass
class _Desired:
    """What the forge should show, per commit, and what it may not show yet."""

    statuses: OrderedDict[str, dict[str, CommitStatus]] = field(default_factory=OrderedDict)
    dirty: set[str] = field(default_factory=set)
    promotions: dict[str, _Promotion] = field(default_factory=dict)
    unopened: set[str] = field(default_factory=set)
    # head -> (the candidate commit, marker, body): comments to keep on others' PRs.
    comments: dict[str, tuple[str, str, str]] = field(default_factory=dict)


class ForgeGates:
    """The record hook that mirrors entries to a forge, and its retrying worker."""

    def __init__(
        self,
        *,
        forge: Forge,
        pipeline_url: str = "",
        retry_initial: float = 1.0,
        retry_max: float = 30.0,
        auto_merge: Callable[[Entry], bool] = lambda _entry: False,
        history: History | None = None,
    ) -> None:
        self.forge = forge
        self.pipeline_url = pipeline_url
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.auto_merge = auto_merge
        self.history = history
        self._desired = _Desired()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the record hook (the agent's thread: never blocks on the forge) ---------------

    def __call__(self, note: NoteEntry) -> None:
        entry = Entry.of(note)
        wanted = pull_requests(entry, pipeline_url=self.pipeline_url)
        self._take(entry, merge=bool(wanted) and self.auto_merge(entry), open_pulls=True)

    def _take(self, entry: Entry, *, merge: bool, open_pulls: bool) -> None:
        """Remember what `entry` asks the forge to show; `open_pulls=False` for an entry of
        an earlier run, whose pull request may have been merged long since (its head
        still gets the statuses)."""
        statuses = gate_statuses(entry, target_url=self.pipeline_url)
        wanted = pull_requests(entry, pipeline_url=self.pipeline_url)
        with self._lock:
            desired = self._desired
            if entry.verified_on and entry.verified_on != entry.revision:
                # Its verdict is the newer revision's (which contains it): so are its gates.
                covered = desired.statuses.get(entry.verified_on, {})
                self._want(
                    entry.revision,
                    tuple(s for c, s in covered.items() if not c.endswith("/promotion")),
                )
            if statuses:
                self._want(entry.revision, statuses)
            for pr in wanted:
                desired.promotions.pop(pr.head, None)  # re-inserted as the newest
                desired.promotions[pr.head] = _Promotion(pr, entry.revision, merge)
                if open_pulls:
                    desired.unopened.add(pr.head)
            for head in list(desired.promotions)[:-REMEMBERED_COMMITS]:
                if head not in desired.unopened:
                    del desired.promotions[head]  # the oldest, long opened
            # A promotion's head shows the gates of the revision it promotes.
            for promotion in desired.promotions.values():
                if promotion.revision == entry.revision:
                    shown = desired.statuses.get(entry.revision, {})
                    self._want(promotion.wanted.commit, tuple(shown.values()))
        if statuses or wanted:
            self._wake.set()

    def _want(self, sha: str, statuses: tuple[CommitStatus, ...]) -> None:
        table = self._desired.statuses.setdefault(sha, {})
        table.update({status.context: status for status in statuses})
        self._desired.statuses.move_to_end(sha)
        self._desired.dirty.add(sha)
        while len(self._desired.statuses) > REMEMBERED_COMMITS:
            oldest = next(iter(self._desired.statuses))
            if oldest in self._desired.dirty:
                break  # never forget what is not shown yet
            del self._desired.statuses[oldest]

    def show_preview(
        self, *, head: str, sha: str, status: CommitStatus, marker: str, body: str
    ) -> None:
        """A candidate's preview: `status` on `sha`, and one comment with `marker` on the pull
        request from `head` (once someone has opened it)."""
        with self._lock:
            self._want(sha, (status,))
            self._desired.comments[head] = (sha, marker, body)
        self._wake.set()

    def forget_preview(self, head: str) -> None:
        """The candidate is gone (merged or deleted): its comment no longer waits for a PR."""
        with self._lock:
            self._desired.comments.pop(head, None)

    def not_mirrored(self) -> tuple[str, ...]:
        """What the forge does not show yet: `pull request <head>`, `statuses <sha>`."""
        with self._lock:
            return tuple(
                [f"pull request {head}" for head in sorted(self._desired.unopened)]
                + [f"preview comment {head}" for head in sorted(self._desired.comments)]
                + [f"statuses {sha[:12]}" for sha in sorted(self._desired.dirty)]
            )

    # -- the worker ----------------------------------------------------------------------

    def start(self) -> None:
        if self.history is not None:
            self._wake.set()  # catch up on what the note says, first thing
        self._thread = threading.Thread(target=self._run, name="forge-gates", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        pause = self.retry_initial
        away = False
        while not self._stop.is_set():
            self._wake.wait(pause if away else self._recheck())
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
            except OrchestratorError as exc:  # the forge (or, catching up, the bus) is away
                if not away:
                    log.warning("forge: %s; will catch up: %s", exc, ", ".join(self.not_mirrored()))
                away, pause = True, pause if not away else min(pause * 2, self.retry_max)
                continue
            except Exception:  # a bug here must not end mirroring for good
                log.exception("forge: mirroring failed")
                away = True
                continue
            if away:
                log.info("forge: back; caught up")
            away, pause = False, self.retry_initial

    def _recheck(self) -> float | None:
        """While a pull request waits to be merged or to be opened (for a comment), look again
        now and then."""
        with self._lock:
            waiting = self._desired.comments or any(
                p.auto_merge for p in self._desired.promotions.values()
            )
        return self.retry_max if waiting else None

    def flush(self) -> None:
        """Open the wanted pull requests, post what differs, merge what may; a ForgeError
        leaves the rest for the next attempt."""
        if self.history is not None:
            # Read before anything else: the entries of an earlier run, possibly unmirrored.
            history, self.history = self.history, None
            try:
                self._catch_up(history)
            except Exception:
                self.history = history  # read it all again next time
                raise
        for head in self._snapshot_unopened():
            try:
                self._open(head)
            except (ForgeUnreachable, ForgeAuthFailed):
                raise  # the forge is away (or the token is wrong): everything waits
            except ForgeError as exc:  # this one cannot be opened: say so, go on
                log.warning("forge: cannot open the pull request of %s: %s", head, exc)
                with self._lock:
                    self._desired.unopened.discard(head)
        for sha in self._snapshot_dirty():
            with self._lock:
                wanted = tuple(self._desired.statuses.get(sha, {}).values())
            try:
                posted = mirror_statuses(self.forge, sha, wanted)
            except ForgeNotFound as exc:  # a commit the forge does not have: nothing to show
                log.warning("forge: cannot show statuses on %s: %s", sha[:12], exc)
                posted = ()
            if posted:
                log.info("forge: %s on %s", ", ".join(posted), sha[:12])
            with self._lock:
                if tuple(self._desired.statuses.get(sha, {}).values()) == wanted:
                    self._desired.dirty.discard(sha)
        self._comment()
        self._merge_green()

    def _comment(self) -> None:
        """Keep each preview comment on its pull request; one not opened yet waits."""
        with self._lock:
            pending = dict(self._desired.comments)
        for head, (sha, marker, body) in sorted(pending.items()):
            pr = self.forge.find_pull_request(head=head)
            if pr is None:
                continue
            if pr.head_sha == sha:
                self.forge.upsert_comment(pr.number, marker=marker, body=body)
                log.info("forge: preview on #%d (%s)", pr.number, sha[:12])
            with self._lock:  # a newer candidate's preview replaces one that moved on
                if self._desired.comments.get(head) == (sha, marker, body):
                    del self._desired.comments[head]

    def _catch_up(self, history: History) -> None:
        for note in history.entries():
            entry = Entry.of(note)
            awaiting = all(
                history.awaits_merge(head=pr.head, base=pr.base, commit=pr.commit)
                for pr in pull_requests(entry)
            )
            self._take(entry, merge=False, open_pulls=awaiting)

    def _open(self, head: str) -> None:
        with self._lock:
            promotion = self._desired.promotions[head]
        pr = promotion.wanted
        opened = self.forge.open_pull_request(
            head=pr.head, base=pr.base, title=pr.title, body=pr.body
        )
        log.info("forge: pull request #%d %s -> %s", opened.number, pr.head, pr.base)
        with self._lock:
            promotion.opened = opened.number
            if self._desired.promotions.get(head) is promotion:
                self._desired.unopened.discard(head)

    def _merge_green(self) -> None:
        """Merge the agent's own pull requests whose gates are all success (auto-merge)."""
        with self._lock:
            ready = [
                p
                for p in self._desired.promotions.values()
                if p.auto_merge
                and p.opened is not None
                and p.wanted.commit not in self._desired.dirty
            ]
        for promotion in ready:
            sha = promotion.wanted.commit
            with self._lock:
                ours = dict(self._desired.statuses.get(sha, {}))
            # Every status on the head counts, not only ours: another agent's preview too.
            shown = {**ours, **self.forge.statuses(sha)}
            if not ours or any(s.state != StatusState.SUCCESS for s in shown.values()):
                continue
            assert promotion.opened is not None
            try:
                self.forge.merge(promotion.opened, sha=sha)
            except MergeRefused as exc:  # someone else's required check, or merged already
                if self.forge.find_pull_request(head=promotion.wanted.head) is None:
                    with self._lock:  # merged or closed by someone else: nothing left to do
                        self._desired.promotions.pop(promotion.wanted.head, None)
                    continue
                log.info("forge: not merging #%d yet: %s", promotion.opened, exc)
                continue
            log.info("forge: merged #%d (every gate success)", promotion.opened)
            with self._lock:
                self._desired.promotions.pop(promotion.wanted.head, None)

    def _snapshot_unopened(self) -> list[str]:
        with self._lock:
            return sorted(self._desired.unopened)

    def _snapshot_dirty(self) -> list[str]:
        with self._lock:
            return list(self._desired.dirty)
