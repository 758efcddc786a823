"""The control-flow graph of a spec, shared by the flow and reference rules."""

from __future__ import annotations

from dataclasses import dataclass

from copilot.drafting.spec import END, ParallelStep, WorkflowSpec, parallel_children, successors


@dataclass
class Flow:
    """Edges between step ids (``end`` excluded); parallel children hang off their parent."""

    start: str
    edges: dict[str, list[str]]
    children: dict[str, str]  # child id -> parallel step id

    def reachable(self) -> set[str]:
        seen: set[str] = set()
        stack = [self.start]
        while stack:
            node = stack.pop()
            if node in seen or node not in self.edges:
                continue
            seen.add(node)
            stack += self.edges[node]
        seen |= {c for c, parent in self.children.items() if parent in seen}
        return seen

    def cycle(self) -> list[str] | None:
        """One cycle as a list of step ids, or None."""
        state: dict[str, int] = {}
        path: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            path.append(node)
            for nxt in self.edges.get(node, []):
                if state.get(nxt) == 1:
                    return path[path.index(nxt) :] + [nxt]
                if nxt in self.edges and not state.get(nxt):
                    found = visit(nxt)
                    if found:
                        return found
            path.pop()
            state[node] = 2
            return None

        for node in self.edges:
            if not state.get(node):
                found = visit(node)
                if found:
                    return found
        return None

    def before(self, step: str) -> tuple[set[str], set[str]]:
        """(steps on *some* path before ``step``, steps on *every* path before it).

        A parallel child counts as its parent's position; a parallel step's
        children have run once the parallel step is done.
        """
        node = self.children.get(step, step)
        preds: dict[str, set[str]] = {n: set() for n in self.edges}
        for src, targets in self.edges.items():
            for t in targets:
                if t in preds:
                    preds[t].add(src)
        some: set[str] = set()
        stack = list(preds.get(node, ()))
        while stack:
            p = stack.pop()
            if p not in some:
                some.add(p)
                stack += preds.get(p, ())
        every = self._dominators().get(node, set()) - {node}
        expand = lambda nodes: nodes | {c for c, par in self.children.items() if par in nodes}  # noqa: E731
        return expand(some), expand(every)

    def _dominators(self) -> dict[str, set[str]]:
        nodes = list(self.edges)
        preds = {n: [s for s in nodes if n in self.edges[s]] for n in nodes}
        dom = {n: set(nodes) for n in nodes}
        dom[self.start] = {self.start}
        changed = True
        while changed:
            changed = False
            for n in nodes:
                if n == self.start:
                    continue
                incoming = [dom[p] for p in preds[n]]
                new = (set.intersection(*incoming) if incoming else set()) | {n}
                if new != dom[n]:
                    dom[n], changed = new, True
        return dom


def build_flow(spec: WorkflowSpec) -> Flow:
    """The flow graph (unknown targets are kept out; the flow rule reports them)."""
    kids = parallel_children(spec)
    ids = {s.id for s in spec.steps}
    edges = {
        s.id: [t for t in successors(spec, s) if t != END and t in ids]
        for s in spec.steps
        if s.id not in kids
    }
    children = {c: s.id for s in spec.steps if isinstance(s, ParallelStep) for c in s.steps}
    return Flow(spec.steps[0].id, edges, children)
