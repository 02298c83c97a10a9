-- Directory search ranks by where a word matched (storage/search.py, ranked_services): each
-- service is indexed as one row per part of it, at row id num * 8 + part: 1 its names, 2 its
-- descriptions and eligibility, 3 its organization's names, 4 its service areas and addresses.
-- The rows are rebuilt here from the stored services, as storage/directory_write.py builds them
-- when a service is saved.

DELETE FROM service_search;

INSERT INTO service_search (id, stems, text)
WITH located(num, address_1, postal_code, city) AS (
    SELECT s.num, d.address_1, d.postal_code, d.city
    FROM services s JOIN service_at_locations l ON l.service_id = s.id
    JOIN addresses d ON d.location_id = l.location_id
), texts(num, part, text) AS (
    SELECT num, 1, name FROM services
    UNION ALL
    SELECT s.num, 1, t.text FROM services s JOIN directory_translations t
        ON t.entity = 'service' AND t.entity_id = s.id AND t.field = 'name'
    UNION ALL
    SELECT num, 2, description FROM services
    UNION ALL
    SELECT num, 2, eligibility_description FROM services
    UNION ALL
    SELECT s.num, 2, t.text FROM services s JOIN directory_translations t
        ON t.entity = 'service' AND t.entity_id = s.id
        AND t.field IN ('description', 'eligibility_description')
    UNION ALL
    SELECT s.num, 3, o.name FROM services s JOIN organizations o ON o.id = s.organization_id
    UNION ALL
    SELECT s.num, 3, t.text FROM services s JOIN directory_translations t
        ON t.entity = 'organization' AND t.entity_id = s.organization_id AND t.field = 'name'
    UNION ALL
    SELECT s.num, 4, a.name FROM services s JOIN service_areas a ON a.service_id = s.id
    UNION ALL
    SELECT s.num, 4, t.text FROM services s JOIN service_areas a ON a.service_id = s.id
        JOIN directory_translations t
        ON t.entity = 'service_area' AND t.entity_id = a.id AND t.field = 'name'
    UNION ALL
    SELECT num, 4, address_1 FROM located
    UNION ALL
    SELECT num, 4, postal_code FROM located
    UNION ALL
    SELECT num, 4, city FROM located
)
SELECT id, to_tsvector('koppi_finnish', text), lower(text) FROM (
    SELECT num * 8 + part AS id, string_agg(text, chr(10)) AS text
    FROM texts WHERE text <> '' GROUP BY num, part) AS parts;
