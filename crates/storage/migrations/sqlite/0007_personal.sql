-- Personal fields (phone, address, birth date, school, grade, guardian contacts, health
-- and allergy notes), each sealed with the person's data key: the database holds only
-- ciphertext bound to its person and field. Who may see the phone number and the
-- address is each person's choice.

CREATE TABLE personal_fields (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    field      TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, field)
);

ALTER TABLE accounts ADD COLUMN phone_visibility TEXT NOT NULL DEFAULT 'officers';
ALTER TABLE accounts ADD COLUMN address_visibility TEXT NOT NULL DEFAULT 'officers';

-- A linked guardian's consent for a member under the minimum age to keep personal
-- fields (APPI: a minor's data needs a guardian's agreement).
CREATE TABLE personal_consents (
    account_id       TEXT PRIMARY KEY REFERENCES accounts(id),
    guardian_account TEXT NOT NULL REFERENCES accounts(id),
    club_id          TEXT NOT NULL REFERENCES clubs(id),
    given_at         BIGINT NOT NULL
);
