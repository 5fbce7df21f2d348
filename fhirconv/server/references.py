"""References inside resources: find them, rename them, order resources by them."""

from __future__ import annotations

from typing import Any


def references(value: Any) -> list[str]:
    """Every ``reference`` string anywhere in a resource, in document order."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    return found


def rewrite_references(value: Any, names: dict[str, str]) -> Any:
    """A copy of ``value`` with every ``reference`` found in ``names`` renamed."""
    if isinstance(value, dict):
        return {
            key: (
                names.get(item, item)
                if key == "reference" and isinstance(item, str)
                else rewrite_references(item, names)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [rewrite_references(item, names) for item in value]
    return value


def components_in_dependency_order(graph: list[list[int]]) -> list[list[int]]:
    """Strongly connected components (Tarjan), each after every component it refers to.

    Tarjan's algorithm emits a component only after all components reachable
    from it, which is exactly "referenced resources first".  Iterative, so a long
    chain of references cannot exhaust Python's recursion limit.
    """
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(len(graph)):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if child < len(graph[node]):
                work.append((node, child + 1))
                target = graph[node][child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def dependency_order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources with every referenced one before those that refer to it.

    Resources that refer to each other in a cycle stay together; otherwise the
    given order is kept, so a sorted input gives a deterministic output.
    """
    position = {f"{r.get('resourceType')}/{r.get('id')}": i for i, r in enumerate(resources)}
    graph = [
        sorted({position[ref] for ref in references(r) if ref in position} - {i})
        for i, r in enumerate(resources)
    ]
    return [resources[i] for component in components_in_dependency_order(graph) for i in component]
