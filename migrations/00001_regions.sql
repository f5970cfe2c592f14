-- Jurisdictions (辖区) and departments (处室/单位): the units that own objects,
-- inspectors, plans and duties. Seeded for Jiaxing; other cities add their own.

-- +goose Up
CREATE TABLE regions (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9A-Za-z-]{2,20}$'),
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    parent_code text REFERENCES regions (code),
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO regions (code, name, parent_code) VALUES
    ('330400', '嘉兴市', NULL),
    ('330402', '南湖区', '330400'),
    ('330411', '秀洲区', '330400'),
    ('330421', '嘉善县', '330400'),
    ('330424', '海盐县', '330400'),
    ('330481', '海宁市', '330400'),
    ('330482', '平湖市', '330400'),
    ('330483', '桐乡市', '330400'),
    -- No GB/T 2260 code exists for these two; local codes of our choosing.
    ('JXJK',   '嘉兴经济技术开发区（国际商务区）', '330400'),
    ('JXGQ',   '嘉兴港区', '330400');

CREATE TABLE departments (
    code       text PRIMARY KEY CHECK (code ~ '^[0-9A-Za-z-]{2,20}$'),
    name       text NOT NULL UNIQUE CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE departments;
DROP TABLE regions;
