-- The county of jurisdiction of a region: the region itself, or its parent
-- when that parent has a parent (a town or street under a county). Drawn
-- objects, inspector pools and cases are all assigned by it; a view rather
-- than a function so that the planner joins it like the tables it reads.

-- +goose Up
CREATE VIEW region_counties AS
SELECT r.code, CASE WHEN p.parent_code IS NOT NULL THEN r.parent_code ELSE r.code END AS county_code
FROM regions r LEFT JOIN regions p ON p.code = r.parent_code;

-- +goose Down
DROP VIEW region_counties;
