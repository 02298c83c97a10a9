-- Swedish names for the topic categories (Finland is bilingual). The column may stay empty:
-- Swedish pages then show the Finnish name, as English pages do without an English name.
-- The starting categories get their Finland-Swedish names, but only where a coordinator has
-- not renamed them since, so a Swedish name never describes a different topic.

ALTER TABLE categories ADD COLUMN name_sv TEXT;

UPDATE categories SET name_sv = CASE slug
    WHEN 'tyonhaku' THEN 'Jobbsökning'
    WHEN 'opiskelu' THEN 'Studier och utbildning'
    WHEN 'raha' THEN 'Pengar och förmåner'
    WHEN 'tyopajat' THEN 'Verkstäder och arbetsverksamhet i rehabiliteringssyfte'
    WHEN 'jaksaminen' THEN 'Ork och vardag'
    WHEN 'asuminen' THEN 'Boende'
    WHEN 'muu' THEN 'Något annat'
END
WHERE (slug, name_fi) IN (VALUES
    ('tyonhaku', 'Työnhaku'),
    ('opiskelu', 'Opiskelu ja koulutus'),
    ('raha', 'Raha ja etuudet'),
    ('tyopajat', 'Työpajat ja kuntouttava työtoiminta'),
    ('jaksaminen', 'Jaksaminen ja arki'),
    ('asuminen', 'Asuminen'),
    ('muu', 'Muu asia')
);
