"""Split a bundle into transaction chunks whose references resolve: study-level resources first, then each
participant with everything that hangs off them, never splitting a participant unless it alone exceeds a chunk."""

from __future__ import annotations

from dataclasses import dataclass, field

from fhirconv.push.entries import Entry


@dataclass(slots=True)
class Chunk:
    number: int
    entries: list[Entry] = field(default_factory=list)
    depends_on: set[int] = field(default_factory=set)  # chunks whose server ids this one needs

    def describe(self) -> str:
        first, last = self.entries[0], self.entries[-1]
        return f"chunk {self.number + 1} ({first.file}: entries {first.position}-{last.position})"


def plan_chunks(entries: list[Entry], batch_size: int) -> list[Chunk]:
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    by_url = {e.full_url: i for i, e in enumerate(entries) if e.full_url}
    refs = [[by_url[r] for r in e.refs if r in by_url and by_url[r] != i] for i, e in enumerate(entries)]

    # A participant-level entry is a Patient or anything that (transitively) refers to one: walk the references
    # backwards from every Patient (iteratively: a long reference chain must not exhaust the call stack).
    referrers: list[list[int]] = [[] for _ in entries]
    for i, targets in enumerate(refs):
        for j in targets:
            referrers[j].append(i)
    participant = [e.resource_type == "Patient" for e in entries]
    todo = [i for i, yes in enumerate(participant) if yes]
    while todo:
        for k in referrers[todo.pop()]:
            if not participant[k]:
                participant[k] = True
                todo.append(k)

    # Participants: connected components over references between participant-level entries.
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(entries)):
        if participant[i]:
            for j in refs[i]:
                if participant[j]:
                    parent[find(i)] = find(j)

    study = [i for i in range(len(entries)) if not participant[i]]
    groups: dict[int, list[int]] = {}
    for i in range(len(entries)):
        if participant[i]:
            groups.setdefault(find(i), []).append(i)

    units = [_topological(study, refs)] if study else []
    units += [_topological(members, refs) for members in sorted(groups.values(), key=lambda m: m[0])]

    chunks: list[Chunk] = []
    current: list[int] = []

    def flush() -> None:
        if current:
            chunks.append(Chunk(len(chunks), [entries[i] for i in current]))
            current.clear()

    chunk_of: dict[int, int] = {}
    for n, unit in enumerate(units):
        is_study_unit = n == 0 and bool(study)
        if current and (is_study_unit or len(current) + len(unit) > batch_size):
            flush()
        for i in unit:
            if len(current) >= batch_size:
                flush()
            chunk_of[i] = len(chunks)
            current.append(i)
        if is_study_unit:
            flush()  # study-level resources go alone, so every participant chunk can start once they landed
    flush()

    for i, targets in enumerate(refs):
        for j in targets:
            if chunk_of[j] != chunk_of[i]:
                chunks[chunk_of[i]].depends_on.add(chunk_of[j])
    return chunks


def _topological(members: list[int], refs: list[list[int]]) -> list[int]:
    """Referenced entries before the entries that refer to them, otherwise in bundle order (cycles keep order).
    A depth-first post-order with an explicit stack, so chains of any length work."""
    inside = set(members)
    order: list[int] = []
    started: set[int] = set()
    for root in members:
        if root in started:
            continue
        started.add(root)
        stack = [(root, iter(refs[root]))]
        while stack:
            node, pending = stack[-1]
            for j in pending:
                if j in inside and j not in started:
                    started.add(j)
                    stack.append((j, iter(refs[j])))
                    break
            else:
                stack.pop()
                order.append(node)
    return order
