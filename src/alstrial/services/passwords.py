"""Password hashing with Argon2id (argon2-cffi) and the password policy.

The policy follows NIST SP 800-63B §5.1.1.2: a minimum length, no composition rules, and a check
against values known to be common or compromised (``common_passwords.txt``, shipped with the
package), plus trivially guessable shapes (one repeated character, a run of the keyboard or the
alphabet, the user's own name). Hashing parameters can be lowered for tests only.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 10
MAX_LENGTH = 256
_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm", "1qaz2wsx3edc")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("alstrial.services").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problems(password: object, *, username: str | None = None) -> list[str]:
    """Why ``password`` is refused (empty when it is acceptable); never echoes the password."""
    if not isinstance(password, str):
        return ["must be text"]
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must have at least {MIN_LENGTH} characters (a passphrase of a few words is best)")
    if len(password) > MAX_LENGTH:
        problems.append(f"must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    squeezed = "".join(ch for ch in lowered if ch.isalnum())
    if lowered in common_passwords() or squeezed in common_passwords():
        problems.append("is one of the most common passwords; choose something others would not guess")
    elif len(set(lowered)) < 4:
        problems.append("uses fewer than 4 different characters")
    elif any(squeezed and (squeezed in run or squeezed in run[::-1]) for run in _RUNS if len(squeezed) >= 6):
        problems.append("is a run of the keyboard or the alphabet")
    if username and len(username) >= 3 and username.lower() in lowered:
        problems.append("contains the user name")
    return problems


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the hasher (tests use cheap parameters); returns the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
