# -*- test-case-name: tests.test_config -*-
"""
C{--config FILE}: a TOML file of options, turned into the option arguments
it stands for, so that the options' own handlers check its values as they
check the command line's.

Each key is the name of a long option (C{port = 1100}, C{relay =
["pump:17"]}, C{close-after-reply = true}); how a key's value may be
written is its I{kind} (L{integer}, L{number}, L{string}, L{flag},
L{strings}, L{groups}).  L{OptionsWithConfigFile} gives an
L{usage.Options} the C{--config} option.
"""

from __future__ import annotations

import datetime
import difflib
import getopt
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Optional

from twisted.python import usage
from twisted.python.usage import UsageError

#: A kind: the option arguments that a key's TOML value stands for.
#: Called with the option's name and the value; raises L{WrongType}.
Kind = Callable[[str, object], list[str]]


class WrongType(Exception):
    """
    A key's value is not of its kind.

    @ivar expected: What the kind is, in words (C{"an integer"}).
    @ivar found: What the value is instead, if not simply a value of
        another type (C{"an array holding an integer"}).
    """

    def __init__(self, expected: str, found: str | None = None) -> None:
        super().__init__(expected, found)
        self.expected = expected
        self.found = found


def typeName(value: object) -> str:
    """
    The TOML name of the type of C{value}, with its article.
    """
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time)):
        return "a date or time"
    return "a value of another type"


def _argument(option: str, value: str) -> str:
    """
    One option argument, with its value in the same word, so that a value
    starting with C{-} stays a value.
    """
    return f"--{option}={value}"


def integer(option: str, value: object) -> list[str]:
    """
    An integer: C{port = 1100}.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType("an integer")
    return [_argument(option, str(value))]


def number(option: str, value: object) -> list[str]:
    """
    An integer or a float: C{idle-timeout = 0.5}.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WrongType("a number")
    return [_argument(option, str(value))]


def string(option: str, value: object) -> list[str]:
    """
    A string that is not empty: C{gpio = "gpiod"}.
    """
    if not isinstance(value, str) or not value:
        raise WrongType("a string that is not empty")
    return [_argument(option, value)]


def flag(option: str, value: object) -> list[str]:
    """
    A boolean: C{close-after-reply = true}; C{false} is the flag not given.
    """
    if not isinstance(value, bool):
        raise WrongType("true or false")
    return [f"--{option}"] if value else []


def strings(option: str, value: object) -> list[str]:
    """
    A repeatable option: an array of strings, each one value of it
    (C{relay = ["pump:17", "valve:27:active-low"]}), or one string.
    """
    expected = f'an array of strings, e.g. {option} = ["..."]'
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise WrongType(expected)
    arguments = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise WrongType(expected, f"an array holding {typeName(item)}")
        arguments.append(_argument(option, item))
    return arguments


def groups(option: str, value: object) -> list[str]:
    """
    A repeatable option whose values are groups of names: an array of
    groups, each an array of names or one string of names separated by
    commas (C{interlock = [["up", "down"], "left,right"]}), or one such
    string.
    """
    expected = (
        f'an array of groups, e.g. {option} = [["up", "down"]] '
        f'or {option} = ["up,down"]'
    )
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise WrongType(expected)
    arguments = []
    for item in items:
        if isinstance(item, list):
            for name in item:
                if not isinstance(name, str) or "," in name:
                    found = "a name with a comma" if isinstance(name, str) else None
                    raise WrongType(
                        expected, found or f"a group holding {typeName(name)}"
                    )
            item = ",".join(item)
        if not isinstance(item, str):
            raise WrongType(expected, f"an array holding {typeName(item)}")
        arguments.append(_argument(option, item))
    return arguments


def readConfig(path: str) -> dict[str, object]:
    """
    The keys and values of the TOML file at C{path}.

    @raise UsageError: in one line naming the file, if it cannot be read,
        is not UTF-8 or is not valid TOML (with the line and column
        C{tomllib} names).
    """
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise UsageError(
            f"config file {path}: cannot read it: {error.strerror or error}"
        ) from None
    except UnicodeDecodeError as error:
        raise UsageError(
            f"config file {path}: not UTF-8 text (byte {error.start + 1} is not)"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"config file {path}: not valid TOML: {error}") from None


def configArguments(
    path: str, kinds: Mapping[str, Kind], skip: frozenset[str] = frozenset()
) -> tuple[list[str], set[str]]:
    """
    The option arguments that the config file at C{path} stands for.

    @param kinds: The kind of each key a file may have.
    @param skip: Keys whose values are left out (options that the command
        line gives itself).
    @return: The arguments, in the order of the keys in the file, and the
        keys they come from.
    @raise UsageError: in one line naming the file, if it cannot be read
        or parsed (L{readConfig}), has a key that is no option, or a value
        of the wrong kind (naming the key and what is expected).
    """
    values = readConfig(path)
    arguments: list[str] = []
    used: set[str] = set()
    for key, value in values.items():
        kind = kinds.get(key)
        if kind is None and isinstance(value, dict):
            raise UsageError(
                f"config file {path}: [{key}]: the file has no sections (tables); "
                "give each option at the top, as port = 1100"
            )
        if kind is None:
            raise UsageError(f"config file {path}: {_unknown(key, kinds)}")
        try:
            given = kind(key, value)
        except WrongType as error:
            found = error.found or typeName(value)
            raise UsageError(
                f"config file {path}: {key}: expected {error.expected}, not {found}"
            ) from None
        if key in skip:
            continue
        arguments.extend(given)
        used.add(key)
    return arguments, used


def _unknown(key: str, kinds: Mapping[str, Kind]) -> str:
    """
    Why C{key} is refused, with the key meant if it is close to one.
    """
    if key == "config":
        return "unknown key 'config': a config file cannot name another"
    close = difflib.get_close_matches(key, list(kinds), n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r}; the keys are: {', '.join(kinds)}"


def givenOptions(
    options: usage.Options, arguments: Sequence[str]
) -> Optional[list[tuple[str, str]]]:
    """
    The options that C{arguments} give, each by its long name, with its
    value (C{""} for a flag), as C{options} will parse them (abbreviations
    and short options included).

    @return: The options, or L{None} if C{arguments} cannot be parsed (the
        parse proper then says why).
    """
    try:
        given, _rest = getopt.getopt(list(arguments), options.shortOpt, options.longOpt)
    except getopt.GetoptError:
        return None
    names = []
    for option, value in given:
        name = option.lstrip("-")
        names.append((options.synonyms.get(name, name), value))
    return names


class OptionsWithConfigFile(usage.Options):
    """
    Options that may come from a TOML file too, named by C{--config FILE}:
    the file's options are parsed first, by the same handlers, then the
    command line's.  An option the command line gives replaces the file's
    value of it, all of its values for a repeatable option, and the file's
    values of the other options in its group (L{configGroups}).

    @cvar configKinds: The kind of each option a file may give, by its
        long name.
    @cvar configGroups: Sets of options that the command line replaces
        together: any of them given there leaves out all of them from the
        file.
    """

    configKinds: ClassVar[Mapping[str, Kind]] = {}
    configGroups: ClassVar[Sequence[frozenset[str]]] = ()

    optParameters = [
        [
            "config",
            None,
            None,
            "read options from this TOML file, each key a long option "
            '(port = 1100, relay = ["pump:17"]); the command line\'s options '
            "replace the file's",
        ],
    ]

    def parseOptions(self, options: Optional[Sequence[str]] = None) -> None:
        """
        Parse the options of the C{--config} file, if any, then those of
        the command line, C{options} (by default C{sys.argv[1:]}).

        With C{--help} (or C{--version}) the file is not read.

        @raise UsageError: as for any option; also if C{--config} is given
            more than once, or the file cannot be used
            (L{configArguments}); an error of an option that came from the
            file says so.
        """
        arguments = list(sys.argv[1:] if options is None else options)
        given = givenOptions(self, arguments) or []
        names = {name for name, value in given}
        paths = [value for name, value in given if name == "config"]
        path: Optional[str] = None
        used: set[str] = set()
        if paths and not names & {"help", "version"}:
            if len(paths) > 1:
                raise UsageError("--config: give one config file, not several")
            [path] = paths
            if not path:
                raise UsageError("--config: expected the path of a TOML file")
            skip = set(names)
            for group in self.configGroups:
                if names & group:
                    skip |= group
            fromFile, used = configArguments(path, self.configKinds, frozenset(skip))
            arguments = fromFile + arguments
        try:
            super().parseOptions(arguments)
        except UsageError as error:
            option = re.match(r"--([a-z][a-z-]*)", str(error))
            if path is not None and option and option.group(1) in used:
                raise UsageError(f"{error} (in config file {path})") from None
            raise
