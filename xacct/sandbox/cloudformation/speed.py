"""Templates parsed as moto parses them, cheaper: by libyaml (the same constructors as moto's Loader),
and a template made into many stacks parsed once, each stack given its own copy. The same answers."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import yaml
from yaml.parser import ParserError
from yaml.scanner import ScannerError

from xacct.sandbox.cloudformation._moto import cfn_models, yaml_tag_constructor
from xacct.sandbox.patching import replace


def constructor(loader: Any, tag: str, node: Any) -> Any:
    """moto's, but for `!Condition NAME` (rule `condition-short-form`): a condition referred to inside
    Fn::And, Fn::Or or Fn::Not is {"Condition": NAME} (CloudFormation user guide, "Condition
    functions": the short form of the Condition function is !Condition). moto made it Fn::Condition,
    which no condition operator knows, so the condition was false whatever its parts."""
    if tag == "!Condition":
        return {"Condition": loader.construct_scalar(node)}
    return yaml_tag_constructor(loader, tag, node)


def install() -> None:
    base = getattr(yaml, "CLoader", yaml.Loader)  # libyaml, with the resolvers and constructors of moto's Loader
    loader = type("TemplateLoader", (base,), {})
    yaml.add_multi_constructor("", constructor, Loader=loader)

    parsed_once: dict[str, Any] = {}  # a few templates, each made into stacks many times
    held = threading.Lock()

    def parse(template: str) -> Any:
        try:
            return yaml.load(template, Loader=loader)  # moto's own loader, in C
        except (ParserError, ScannerError):
            return json.loads(template)

    @replace(cfn_models.Stack, "parse_template")  # a staticmethod, as moto's
    def parse_template(template: str) -> dict[str, Any]:
        with held:
            found = parsed_once.get(template)
        if found is None:
            found = parse(template)
            with held:
                if len(parsed_once) >= 32:
                    parsed_once.clear()
                parsed_once[template] = found
        copied: dict[str, Any] = copy.deepcopy(found)  # moto may change what it is given
        return copied

    @replace(cfn_models.ChangeSet, "_parse_template")
    def change_set_parse(self: Any) -> None:
        self.template_dict = cfn_models.Stack.parse_template(self.template)
