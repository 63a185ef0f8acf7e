r"""Linear relations of draft-irtf-cfrg-sigma-protocols over BLS12-381 G1: the instance.

The relation (§"Linear map") is the preimage of a linear map over G1::

    R = { ((M, image), witness) : image = M · witness }
    image[i] = Σ_j witness[j] · M[i][j]

held sparsely (§"Representation"): a list of group ``elements`` (``elements[0]`` is the
generator ``G``) and a list of :class:`Equation` rows, each with ``image`` terms
``(element_index, coeff)`` — the left-hand side, constants of the statement — and
``terms`` ``(scalar_index, element_index, coeff)`` — the right-hand side, linear in the
witness. Coefficients are scalars mod ``r``.

Allocation API (the compiled form of §"Specifying the relation")::

    rel = LinearRelation(backend)           # elements = [G]
    x = rel.allocate_scalar()               # witness index 0
    X = rel.allocate_element(x_value * G)   # element index 1
    rel.append_equation(image=[(X, 1)], terms=[(x, GENERATOR, 1)])

:meth:`LinearRelation.to_bytes` is ``SerializeLinearRelation`` (§"Serialization"):
``LE(num_equations, 4)``, then per equation ``LE(len(image), 4)``, each image term
``LE(element_index, 4) || Scalar.serialize([coeff])``, ``LE(len(terms), 4)``, each term
``LE(scalar_index, 4) || LE(element_index, 4) || Scalar.serialize([coeff])``; then
``Group.serialize(elements[1:])``. The element count is not written: it is what the
remaining bytes hold, so :meth:`LinearRelation.from_bytes` requires them to be a whole
number of 48-byte points and then, through check 4 and 5, that exactly the referenced
indices are present.

:meth:`LinearRelation.validate` is ``ValidateInstance`` (§"Instance validation"), every
check numbered as in the draft; failures raise :class:`~circuits.errors.ParameterError`
whose message starts with ``check N``. Deserialization failures (short input, scalars
``≥ r``, bad points, the identity) raise the matching
:class:`~circuits.errors.EncodingError`. A relation that passed is cached as valid until
it is changed.

Why (and what is deliberately not checked, §"Instance security"): see
circuits/notes/sigma-protocols.md.

>>> from circuits.backend import get_backend
>>> be = get_backend("py_ecc")
>>> rel = LinearRelation(be)
>>> x = rel.allocate_scalar(); X = rel.allocate_element(be.g1_mul(be.g1_generator(), 5))
>>> rel.append_equation(image=[(X, 1)], terms=[(x, GENERATOR, 1)])
>>> rel.validate(); LinearRelation.from_bytes(rel.to_bytes(), be).to_bytes() == rel.to_bytes()
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from circuits.backend import GroupBackend, get_backend
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.errors import EncodingError, IdentityPointError, ParameterError
from circuits.sigma.codec import (
    NE,
    NS,
    deserialize_bytes,
    deserialize_elements,
    deserialize_scalars,
    le,
    le2ip,
    scalar_to_bytes,
    serialize_elements,
)

__all__ = ["GENERATOR", "Equation", "LinearRelation"]

#: Element index of the group generator in every instance (§"Representation").
GENERATOR = 0
#: Indices and counts are written on 4 bytes (check 3).
_U32 = 1 << 32
#: Smallest serialized image term, term and equation (bounds checked before any loop).
_IMAGE_TERM_BYTES = 4 + NS
_TERM_BYTES = 4 + 4 + NS
_MIN_EQUATION_BYTES = 4 + _IMAGE_TERM_BYTES + 4 + _TERM_BYTES


@dataclass(frozen=True)
class Equation:
    """One row of ``M``: ``Σ coeff·elements[e] (image) = Σ coeff·witness[s]·elements[e] (terms)``."""

    image: tuple[tuple[int, int], ...]
    terms: tuple[tuple[int, int, int], ...]


def _index(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _coeff(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"a coefficient must be an int, not {type(value).__name__}")
    return value % R


class LinearRelation:
    """The instance ``(M, image)`` of a linear relation over G1 (§"Representation")."""

    __slots__ = ("backend", "_elements", "_equations", "_num_scalars", "_valid")

    def __init__(self, backend: GroupBackend | None = None) -> None:
        self.backend = backend or get_backend()
        self._elements: list[G1] = [self.backend.g1_generator()]
        self._equations: list[Equation] = []
        self._num_scalars = 0
        self._valid = False

    # Allocation -----------------------------------------------------------------------

    def allocate_scalar(self) -> int:
        """A fresh witness index (it must then appear in some equation's terms, check 6)."""
        self._valid = False
        self._num_scalars += 1
        return self._num_scalars - 1

    def allocate_scalars(self, n: int) -> list[int]:
        return [self.allocate_scalar() for _ in range(n)]

    def allocate_element(self, point: G1) -> int:
        """Register a group element (never the identity, check 8) and return its index."""
        if self.backend.g1_is_identity(point):
            raise IdentityPointError("check 8: an instance element is the identity")
        self._valid = False
        self._elements.append(point)
        return len(self._elements) - 1

    def allocate_elements(self, points: Iterable[G1]) -> list[int]:
        return [self.allocate_element(p) for p in points]

    def append_equation(self, image: Sequence[tuple[int, int]], terms: Sequence[tuple[int, int, int]]) -> None:
        """Add the row ``Σ c·elements[e] = Σ c·witness[s]·elements[e]``; coefficients are reduced mod r."""
        img = tuple((_index(e, "an element index"), _coeff(c)) for e, c in image)
        rhs = tuple((_index(s, "a scalar index"), _index(e, "an element index"), _coeff(c)) for s, e, c in terms)
        self._valid = False
        self._equations.append(Equation(img, rhs))
        self._num_scalars = max([self._num_scalars, *(s + 1 for s, _, _ in rhs)])

    # Read-only views: changes go through the allocation API, which drops the validity cache.

    @property
    def elements(self) -> tuple[G1, ...]:
        return tuple(self._elements)

    @property
    def equations(self) -> tuple[Equation, ...]:
        return tuple(self._equations)

    # Sizes (§"Representation") ----------------------------------------------------------

    @property
    def num_elements(self) -> int:
        return len(self._elements)

    @property
    def num_equations(self) -> int:
        return len(self._equations)

    @property
    def num_scalars(self) -> int:
        """``1 + max`` scalar index (or the allocated count, if larger: check 6 then fails)."""
        return self._num_scalars

    # Evaluation (§"Map evaluation") -----------------------------------------------------

    def image(self) -> list[G1]:
        """``image(instance)``: each equation's left-hand side as a group element."""
        return [self._combine(((e, c) for e, c in eq.image), public=True) for eq in self._equations]

    def map(self, scalars: Sequence[int], *, public: bool = False) -> list[G1]:
        """``map(instance, scalars)``: each equation's right-hand side at ``scalars``.

        The scalars are secret (the prover's nonces and witness) unless ``public=True``: the
        backend then keeps a scalar-independent sequence of group operations
        (circuits/notes/side-channels.md). Coefficients and indices are public.
        """
        if len(scalars) != self.num_scalars:
            raise ParameterError(f"map takes {self.num_scalars} scalars, got {len(scalars)}")
        return [self._combine(((e, c * scalars[s]) for s, e, c in eq.terms), public=public) for eq in self._equations]

    def _combine(self, pairs: Iterable[tuple[int, int]], *, public: bool = False) -> G1:
        """``Σ k·elements[e]`` in one MSM, coefficients of a repeated element summed first."""
        acc: dict[int, int] = {}
        for e, k in pairs:
            acc[e] = (acc.get(e, 0) + k) % R
        return self.backend.g1_msm([self._elements[e] for e in acc], list(acc.values()), public=public)

    # Instance validation (§"Instance validation") ----------------------------------------

    def validate(self) -> None:
        """``ValidateInstance``: every check 1–10, in the draft's order; raises ParameterError/IdentityPointError."""
        if self._valid:
            return
        be, eqs, elements = self.backend, self._equations, self._elements
        # 1. At least one equation.
        if not eqs:
            raise ParameterError("check 1: the instance has no equation")
        # 2. Every equation has a non-empty image and non-empty terms.
        for i, eq in enumerate(eqs):
            if not eq.terms or not eq.image:
                raise ParameterError(f"check 2: equation {i} has an empty image or empty terms")
        # 3. Indices and counts are non-negative and below 2^32.
        counts = [self.num_equations, self.num_elements]
        counts += [n for eq in eqs for n in (len(eq.image), len(eq.terms))]
        indices = [e for eq in eqs for e, _ in eq.image]
        indices += [i for eq in eqs for s, e, _ in eq.terms for i in (s, e)]
        if any(not 0 <= n < _U32 for n in counts + indices):
            raise ParameterError("check 3: an index or a count is outside [0, 2^32)")
        # 4. Every element index references an element.
        used_elements = {e for eq in eqs for e, _ in eq.image}
        used_elements |= {e for eq in eqs for _, e, _ in eq.terms}
        if any(e >= self.num_elements for e in used_elements):
            raise ParameterError("check 4: an element index is out of bounds")
        # 5. Every element other than the generator is used by some equation.
        if len(used_elements | {GENERATOR}) != self.num_elements:
            raise ParameterError("check 5: an instance element appears in no equation")
        # 6. Every scalar index appears in some equation's terms.
        used_scalars = {s for eq in eqs for s, _, _ in eq.terms}
        if len(used_scalars) != self.num_scalars or any(s >= self.num_scalars for s in used_scalars):
            raise ParameterError("check 6: a witness scalar appears in no equation")
        # 7. elements[0] is the generator.
        if not elements or not be.g1_eq(elements[0], be.g1_generator()):
            raise ParameterError("check 7: element 0 is not the group generator")
        # 8. No element is the identity.
        if any(be.g1_is_identity(p) for p in elements):
            raise IdentityPointError("check 8: an instance element is the identity")
        # 9. No equation's image is the identity (the all-zero witness would satisfy it).
        for i, eq in enumerate(eqs):
            if self._vanishes(eq.image):
                raise ParameterError(f"check 9: the image of equation {i} is the identity")
        # 10. No column of M is the identity: for each scalar, some equation where the
        # terms carrying it do not sum to the identity. One pass groups the terms, so the
        # cost is linear in the instance (a quadratic scan would let a large instance stall us).
        columns: dict[int, dict[int, list[tuple[int, int]]]] = {}
        for i, eq in enumerate(eqs):
            for s, e, c in eq.terms:
                columns.setdefault(s, {}).setdefault(i, []).append((e, c))
        for s in sorted(columns):
            if all(self._vanishes(pairs) for pairs in columns[s].values()):
                raise ParameterError(f"check 10: the column of witness scalar {s} is the identity")
        self._valid = True

    def _vanishes(self, pairs: Sequence[tuple[int, int]]) -> bool:
        """Is ``Σ c·elements[e]`` the identity? Without a multiplication when at most one coefficient survives.

        Elements are non-identity (check 8) in a group of prime order, so ``c·P`` is the
        identity iff ``c = 0``; only a combination of two or more elements needs the MSM.
        """
        acc: dict[int, int] = {}
        for e, c in pairs:
            acc[e] = (acc.get(e, 0) + c) % R
        live = [e for e, c in acc.items() if c]
        if len(live) <= 1:
            return not live
        return bool(self.backend.g1_is_identity(self._combine(((e, acc[e]) for e in live), public=True)))

    def is_valid(self) -> bool:
        try:
            self.validate()
        except (ParameterError, EncodingError):
            return False
        return True

    # Serialization (§"Serialization") -----------------------------------------------------

    def to_bytes(self) -> bytes:
        """``SerializeLinearRelation(instance)``: the bytes absorbed as ``encode[0](instance)``."""
        out = [le(self.num_equations, 4)]
        for eq in self.equations:
            out.append(le(len(eq.image), 4))
            for e, c in eq.image:
                out += [le(e, 4), scalar_to_bytes(c)]
            out.append(le(len(eq.terms), 4))
            for s, e, c in eq.terms:
                out += [le(s, 4), le(e, 4), scalar_to_bytes(c)]
        out.append(serialize_elements(self.backend, self.elements[1:]))
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes, backend: GroupBackend | None = None) -> LinearRelation:
        """Parse ``SerializeLinearRelation`` output and validate it (checks 1–10).

        Every length is compared with what remains before any loop runs, so a forged count
        (up to ``2^32 − 1``) costs nothing; scalars must be ``< r``; the trailing elements
        must be a whole number of fully validated, non-identity G1 points.
        """
        rel = cls.parse_unvalidated(data, backend)
        rel.validate()
        return rel

    @classmethod
    def parse_unvalidated(cls, data: bytes, backend: GroupBackend | None = None) -> LinearRelation:
        """The byte-level parse of :meth:`from_bytes` without checks 4–10: for tests and tools only.

        Every decoding rule still applies (lengths, canonical scalars, valid non-identity
        points, and checks 1–2, which the byte layout forces); the result is unvalidated,
        and every prover and verifier validates it again before use.
        """
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("an instance is bytes")
        rel = cls(backend)
        rest = bytes(data)
        num_equations, rest = _u32(rest)
        if num_equations == 0:
            raise ParameterError("check 1: the instance has no equation")
        if num_equations * _MIN_EQUATION_BYTES > len(rest):
            raise EncodingError(f"{num_equations} equations cannot fit in {len(rest)} bytes")
        for i in range(num_equations):
            n_image, rest = _u32(rest)
            if n_image == 0:
                raise ParameterError(f"check 2: equation {i} has an empty image")
            if n_image * _IMAGE_TERM_BYTES > len(rest):
                raise EncodingError(f"equation {i}: {n_image} image terms cannot fit in {len(rest)} bytes")
            image = []
            for _ in range(n_image):
                e, rest = _u32(rest)
                (c,), rest = deserialize_scalars(rest, 1)
                image.append((e, c))
            n_terms, rest = _u32(rest)
            if n_terms == 0:
                raise ParameterError(f"check 2: equation {i} has empty terms")
            if n_terms * _TERM_BYTES > len(rest):
                raise EncodingError(f"equation {i}: {n_terms} terms cannot fit in {len(rest)} bytes")
            terms = []
            for _ in range(n_terms):
                s, rest = _u32(rest)
                e, rest = _u32(rest)
                (c,), rest = deserialize_scalars(rest, 1)
                terms.append((s, e, c))
            rel._equations.append(Equation(tuple(image), tuple(terms)))
        if len(rest) % NE:
            raise EncodingError(f"{len(rest)} trailing bytes are not a whole number of {NE}-byte elements")
        points, rest = deserialize_elements(rel.backend, rest, len(rest) // NE)
        assert not rest
        rel._elements.extend(points)
        used = {s for eq in rel.equations for s, _, _ in eq.terms}
        rel._num_scalars = 1 + max(used)
        return rel

    def __repr__(self) -> str:
        return (
            f"LinearRelation(num_elements={self.num_elements}, num_equations={self.num_equations}, "
            f"num_scalars={self.num_scalars})"
        )


def _u32(data: bytes) -> tuple[int, bytes]:
    chunk, rest = deserialize_bytes(data, 4)
    return le2ip(chunk), rest
