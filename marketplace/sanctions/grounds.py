"""The published list of grounds a sanction may rest on, with their legal basis.

A code never changes meaning once published (cases store it); a ground that is no longer used
is marked ``is_active=False`` and stays readable. The legal basis names the documents in their
official (Chinese) titles.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from marketplace.sanctions.models import SanctionKind

W, S, B = SanctionKind.WARNING, SanctionKind.SUSPENSION, SanctionKind.BLACKLIST

BASIS_REFORM = "《国务院办公厅关于清理规范国务院部门行政审批中介服务的通知》（国办发〔2015〕31号）"
BASIS_JOINT = ("《国务院关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》"
               "（国发〔2016〕33号）")
BASIS_CREDIT = ("《国务院办公厅关于加快推进社会信用体系建设构建以信用为基础的新型监管机制的指导意见》"
                "（国办发〔2019〕35号）")


@dataclass(frozen=True)
class Ground:
    """One published ground: its code, title, legal basis and the sanctions it may support."""

    code: str
    title: object
    legal_basis: str
    kinds: frozenset[SanctionKind]
    is_active: bool = True


GROUNDS: tuple[Ground, ...] = (
    Ground("false_independence", _l("False declaration of independence from a government department"),
           BASIS_REFORM, frozenset({W, S, B})),
    Ground("serious_overrun", _l("Serious overrun of the committed service time"),
           BASIS_REFORM + "；" + BASIS_CREDIT, frozenset({W, S})),
    Ground("upheld_complaints", _l("Repeated complaints upheld against the agency"),
           BASIS_CREDIT, frozenset({W, S, B})),
    Ground("refusing_to_sign", _l("Refusing to sign the contract after being selected"),
           "《中华人民共和国民法典》第五百条；" + BASIS_CREDIT, frozenset({W, S})),
    Ground("falsified_report", _l("Falsified or seriously flawed report or result"),
           BASIS_JOINT + "；相关行业法律法规", frozenset({S, B})),
    Ground("fee_violation", _l("Fees beyond the committed or published standard"),
           "《中华人民共和国价格法》；" + BASIS_REFORM, frozenset({W, S, B})),
    Ground("designated_collusion", _l("Collusion with a department designating it, or with other bidders"),
           "《中华人民共和国反不正当竞争法》；" + BASIS_REFORM, frozenset({S, B})),
    Ground("low_credit_grade", _l("Credit grade D under the published credit formula"),
           BASIS_CREDIT, frozenset({W, S})),
)

_BY_CODE = {g.code: g for g in GROUNDS}


def get_ground(code: str) -> Ground | None:
    """A ground by its code (also retired ones)."""
    return _BY_CODE.get(code)


def ground_title(code: str) -> str:
    """The translated title of a ground, or the code when unknown."""
    ground = _BY_CODE.get(code)
    return str(ground.title) if ground else code


def active_grounds(kind: SanctionKind | None = None) -> list[Ground]:
    """The grounds a new case may use (for ``kind``, when given)."""
    return [g for g in GROUNDS if g.is_active and (kind is None or kind in g.kinds)]
