{#- R1 only. Latest-version-wins (R3) runs in fct_secondary_sales, against what the fact already
    holds, so that incremental runs read only newly landed rows. -#}
with

source as (
    select * from {{ source('landing', 'fis') }}
),

renamed as (
    select
        -- ids
        {{ normalize_code('invoice_no') }} as invoice_no,
        invoice_line,

        -- codes
        {{ normalize_code('doc_type') }} as doc_type,
        {{ normalize_code('distributor_code') }} as distributor_code,
        {{ normalize_code('retailer_code') }} as retailer_code,
        {{ normalize_code('material_code') }} as material_code,
        {{ normalize_code('tsr_code') }} as tsr_code,

        -- amounts (non-negative in the files; signs are applied in the fact, R6)
        qty,
        gross_amount,
        discount_amount,
        tax_amount,
        net_amount,

        -- dates
        invoice_date,
        updated_at,

        -- lineage
        _source_file,
        _source_row,
        _loaded_at
    from source
)

select * from renamed
