"""zkcred's cryptography: pure functions over bytes and scalars, no I/O.

BLS12-381 behind interchangeable backends (:mod:`circuits.backend`), RFC 9380 hashing
(:mod:`circuits.hashing`) and IETF BBS signatures (:mod:`circuits.bbs`).
"""
