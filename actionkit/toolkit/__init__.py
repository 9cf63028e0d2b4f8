"""The organizer's toolkit, on top of the campaign, letters and delivery domains: the consented list and its
withdrawal link, per-campaign sharing and embedding settings, tagged links by source."""
