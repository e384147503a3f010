#pragma once
// replay/ keeping replay's one transaction its own: plan and Drizzle SQL may not hold transaction
// control (refused in preflight, naming file and line), and after every plan statement the
// transaction is checked to be still the one replay opened. When plan SQL ended it anyway, what
// PostgreSQL committed is recorded in the ledger so that `rollback postgres` can undo it.

#include <cstdint>
#include <string>
#include <vector>

#include "enmap/error.hpp"
#include "replay/catalog.hpp"
#include "replay/drizzle.hpp"
#include "replay/ledger.hpp"
#include "replay/plan.hpp"

namespace replay {

/// Plan SQL ended or replaced replay's transaction (a COMMIT or ROLLBACK got past preflight).
class TransactionEscaped : public enmap::DatabaseError {
public:
    TransactionEscaped(const std::string& where, const std::string& step)
        : enmap::DatabaseError("the statement at " + where + " ended replay's transaction"),
          m_where(where),
          m_step(step) {}
    /// FILE:LINE of the statement.
    [[nodiscard]] const std::string& where() const { return m_where; }
    /// The module (or @drizzle) that ran it.
    [[nodiscard]] const std::string& step() const { return m_step; }

private:
    std::string m_where;
    std::string m_step;
};

/// Checks every transform, verify and Drizzle file for transaction control (sql_text.hpp's
/// transaction_control). Throws enmap::InputError listing each FILE:LINE and command.
void check_transaction_control(const Plan& plan, const std::vector<DrizzleMigration>& drizzle);

/// Watches replay's transaction: start() after the run's ledger row is inserted, check() after
/// every statement of the plan.
class TransactionGuard {
public:
    /// Records the transaction id, the catalog and the newest Drizzle row. Throws pqxx errors.
    void start(pqxx::transaction_base& tx);
    /// Throws TransactionEscaped when the transaction is no longer the one start() saw.
    void check(pqxx::transaction_base& tx, const std::string& where, const std::string& step) const;

    /// After TransactionEscaped (and once replay's transaction object is gone): records, on a new
    /// connection, what PostgreSQL committed as run `run_id` with status partial (the modules
    /// done before, then the objects of `step` as one committed module, the Drizzle rows and the
    /// tables' states), so `rollback postgres --run` can undo it. Returns a sentence saying what
    /// was committed. Throws pqxx errors.
    std::string record_escape(const std::string& database_url, std::int64_t run_id,
                              const std::vector<ModuleRecord>& done, const std::string& step,
                              const std::string& error) const;

private:
    std::string m_txid;
    std::vector<CatalogObject> m_before;
    std::int64_t m_drizzle_max = 0;
};

}  // namespace replay
