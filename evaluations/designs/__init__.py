"""Evaluation designs, each decided in one module (see base.py for what a design owns).

`design_of(manifest.design)` is the one place a manifest's design type is read. Adding a design
means adding its module here and its tests.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evaluations.designs.base import StudyDesign
    from evaluations.registry import Design


def design_of(design: Design) -> StudyDesign:
    from evaluations.designs.after_only import AfterOnly
    from evaluations.designs.before_after import BeforeAfter
    from evaluations.designs.cross_section_did import CrossSectionDiD, MatchedCrossSectionDiD
    from evaluations.designs.did_panel import PanelDiD
    from evaluations.designs.matched_did import MatchedDiD
    from evaluations.designs.staggered import Staggered
    from evaluations.designs.trial import Trial
    from evaluations.registry import DesignType, Sample

    cross_sections = design.sample == Sample.repeated_cross_section
    if design.type == DesignType.pre_post:
        return BeforeAfter(design)
    if design.first_treated is not None:
        return Staggered()
    if design.type == DesignType.did:
        return CrossSectionDiD() if cross_sections else PanelDiD()
    if design.type == DesignType.matched_did:
        return MatchedCrossSectionDiD() if cross_sections else MatchedDiD()
    # A trial or an after-only comparison analyses the follow-up wave, linked or not.
    return {DesignType.rct: Trial, DesignType.matching: AfterOnly}[design.type]()
