"""What the campaign ledgers' mutations can refuse."""

from __future__ import annotations

from enum import auto

from api.errors import ErrorCode, error_enum, error_type


@error_enum(name="CampaignErrorCode", description="Why something asked of a campaign ledger was refused.")
class CampaignErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    not_found = auto()
    required = auto()
    too_long = auto()
    not_a_choice = auto()
    no_open_round = auto()
    unknown_type = auto()
    outside_district = auto()
    outside_scope = auto()
    invalid_area = auto()
    not_a_candidate = auto()
    replayed = auto()
    unknown_action = auto()
    stale = auto()
    transition_not_allowed = auto()
    too_many = auto()
    not_a_campaign_category = auto()
    # a photo
    file_too_large = auto()
    unsupported_type = auto()
    not_an_image = auto()
    unsupported_format = auto()
    image_too_large = auto()


CampaignError = error_type(CampaignErrorCode, name="CampaignError", description="A refused request to a campaign.")
